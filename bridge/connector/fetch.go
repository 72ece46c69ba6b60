package connector

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/itchyny/gojq"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/time/rate"
)

// Source is one connection's use of a definition.
type Source struct {
	Def *Definition
	// Params fill {name} in the base URL, paths, queries and bodies.
	Params map[string]string
	// Secret holds the opened credentials: api_key, username, password,
	// client_id, client_secret, and the OAuth token (access_token,
	// refresh_token, expiry).
	Secret map[string]string
	// BaseURL, when set, replaces the definition's (a sandbox, the mock).
	BaseURL string
	// SaveToken stores a token the provider just issued, before it is
	// used: a rotating refresh token is valid once, so losing the new one
	// would lock the connection out.
	SaveToken func(ctx context.Context, tok *oauth2.Token) error
	// Retries of a request that got 429, a 5xx or no answer (default 5),
	// RetryBase the first wait (default 1s, doubled, with jitter; a
	// Retry-After or rate-limit reset header wins).
	Retries   int
	RetryBase time.Duration
	// Timeout bounds one request (default 60s).
	Timeout time.Duration
	// MaxPages bounds one fetch (default 100,000).
	MaxPages int
	// RequestsPerSecond, when set, replaces the definition's budget.
	RequestsPerSecond float64
	// FirstPage stops after the first page (a connection test).
	FirstPage bool
	// KeepDrift lets a fetch whose required field no record has end
	// without error, with the fields in Stats.Absent: the caller holds
	// the read instead of failing it.
	KeepDrift bool

	client  *http.Client
	limiter *rate.Limiter
	tokens  *savingSource
}

// Stats count a fetch.
type Stats struct {
	Records, Pages, Requests, Retries int
	// Absent are the required fields no record had: a provider that
	// renamed or dropped a field (schema drift).
	Absent []string
}

// Error is a fetch that failed, with its catalog code.
type Error struct {
	Code string
	// Status is the last HTTP status, 0 without an answer.
	Status int
	// Transient errors may pass on a later attempt.
	Transient bool
	Err       error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Catalog codes of API connector failures (schema's error catalog has
// their fixes).
const (
	CodeAuth        = "E_API_AUTH"        // credentials refused (401, 403, invalid_grant)
	CodeHTTP        = "E_API_HTTP"        // a 4xx the request cannot recover from
	CodeUnavailable = "E_API_UNAVAILABLE" // 429, 5xx or no answer, after retries
	CodeResponse    = "E_API_RESPONSE"    // a body that is not the JSON the definition reads
	CodeDrift       = "E_API_DRIFT"       // a required field absent from every record
)

func (s *Source) init(ctx context.Context) error {
	if s.client != nil {
		return nil
	}
	s.Retries = cmp.Or(s.Retries, 5)
	s.RetryBase = cmp.Or(s.RetryBase, time.Second)
	s.Timeout = cmp.Or(s.Timeout, 60*time.Second)
	s.MaxPages = cmp.Or(s.MaxPages, 100_000)
	rps := cmp.Or(s.RequestsPerSecond, s.Def.RequestsPerSecond)
	if rps <= 0 {
		rps = 5
	}
	s.limiter = rate.NewLimiter(rate.Limit(rps), max(1, int(math.Ceil(rps))))
	s.client = &http.Client{Timeout: s.Timeout}
	a := s.Def.Auth
	switch a.Type {
	case "oauth2_client_credentials", "oauth2_authorization_code":
		cfg := s.oauthConfig()
		var tok *oauth2.Token
		if a.Type == "oauth2_authorization_code" {
			tok = s.storedToken()
			if tok.RefreshToken == "" && tok.AccessToken == "" {
				return &Error{Code: CodeAuth, Err: errors.New("the connection is not authorized yet: run `hrisbridge connections authorize` (or POST /v1/connections/{id}/authorize)")}
			}
		} else {
			tok = &oauth2.Token{}
		}
		// The token source outlives ctx's values but not the sync: its
		// refreshes use their own client with the request timeout.
		hctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, &http.Client{Timeout: s.Timeout})
		source := func(t *oauth2.Token) oauth2.TokenSource {
			if a.Type == "oauth2_authorization_code" {
				return cfg.TokenSource(hctx, t)
			}
			cc := clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.Endpoint.TokenURL, Scopes: cfg.Scopes}
			return cc.TokenSource(hctx)
		}
		s.tokens = &savingSource{src: source(tok), source: source, save: s.SaveToken, last: tok}
	}
	return nil
}

func (s *Source) oauthConfig() *oauth2.Config {
	a := s.Def.Auth
	return &oauth2.Config{ClientID: s.Secret["client_id"], ClientSecret: s.Secret["client_secret"], Scopes: a.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: s.onBase(a.AuthURL), TokenURL: s.onBase(a.TokenURL)}}
}

// onBase resolves a URL that starts with / against the base URL's scheme
// and host, so that a sandbox or mock base URL carries the OAuth
// endpoints along.
func (s *Source) onBase(v string) string {
	v = s.fill(v)
	if !strings.HasPrefix(v, "/") {
		return v
	}
	base, err := url.Parse(s.fill(cmp.Or(s.BaseURL, s.Def.BaseURL)))
	if err != nil {
		return v
	}
	return base.Scheme + "://" + base.Host + v
}

// AuthCodeURL is where an employer's admin grants access (the
// authorization-code flow's first step).
func (s *Source) AuthCodeURL(state, redirect string) string {
	cfg := s.oauthConfig()
	cfg.RedirectURL = redirect
	return cfg.AuthCodeURL(state, oauth2.AccessTypeOffline)
}

// Exchange trades an authorization code for the connection's first
// token.
func (s *Source) Exchange(ctx context.Context, code, redirect string) (*oauth2.Token, error) {
	cfg := s.oauthConfig()
	cfg.RedirectURL = redirect
	tok, err := cfg.Exchange(context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: cmp.Or(s.Timeout, 60*time.Second)}), code)
	if err != nil {
		return nil, authError(err)
	}
	return tok, nil
}

func (s *Source) storedToken() *oauth2.Token {
	tok := &oauth2.Token{AccessToken: s.Secret["access_token"], RefreshToken: s.Secret["refresh_token"], TokenType: "Bearer"}
	if t, err := time.Parse(time.RFC3339, s.Secret["expiry"]); err == nil {
		tok.Expiry = t
	}
	return tok
}

// TokenSecret is a token as the connection's secret keys.
func TokenSecret(tok *oauth2.Token) map[string]string {
	m := map[string]string{"access_token": tok.AccessToken, "expiry": tok.Expiry.UTC().Format(time.RFC3339)}
	if tok.RefreshToken != "" {
		m["refresh_token"] = tok.RefreshToken
	}
	return m
}

// savingSource hands out tokens and stores each new one before it is
// used. oauth2's ReuseTokenSource under it refreshes once for every
// goroutine of a sync; the sync's lease on the connection keeps other
// syncs, in this process or another replica, from refreshing at the same
// time with the same refresh token.
type savingSource struct {
	mu     sync.Mutex
	src    oauth2.TokenSource
	source func(*oauth2.Token) oauth2.TokenSource
	save   func(context.Context, *oauth2.Token) error
	last   *oauth2.Token
}

func (s *savingSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, err := s.src.Token()
	if err != nil {
		return nil, authError(err)
	}
	if tok.AccessToken != s.last.AccessToken && s.save != nil {
		if err := s.save(context.Background(), tok); err != nil {
			return nil, fmt.Errorf("store the refreshed token: %w", err)
		}
	}
	s.last = tok
	return tok, nil
}

// expire makes the next Token refresh: the provider refused the access
// token before its expiry (revoked, or a clock apart).
func (s *savingSource) expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := *s.last
	t.Expiry = time.Now().Add(-time.Hour)
	if t.AccessToken == "" {
		t.AccessToken = "expired"
	}
	s.src = s.source(&t)
}

func authError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return &Error{Code: CodeAuth, Status: re.Response.StatusCode, Err: fmt.Errorf("token refused (%s): the employer must authorize the connection again", cmp.Or(re.ErrorCode, re.Response.Status))}
	}
	return &Error{Code: CodeUnavailable, Transient: true, Err: fmt.Errorf("token endpoint: %w", err)}
}

// fill replaces {name} with connection parameters and {secret.name} with
// credentials.
func (s *Source) fill(v string) string {
	if !strings.Contains(v, "{") {
		return v
	}
	for k, p := range s.Params {
		v = strings.ReplaceAll(v, "{"+k+"}", p)
	}
	for k, p := range s.Secret {
		v = strings.ReplaceAll(v, "{secret."+k+"}", p)
	}
	return v
}

// Fetch reads entity's records, only those changed since since when it is
// not zero and the entity is incremental, and writes them to w as CSV
// (Columns, with a header). It fails, having read nothing usable, unless
// every page was read: a caller applies the CSV only after a nil error.
func (s *Source) Fetch(ctx context.Context, entity string, since time.Time, w io.Writer) (Stats, error) {
	var st Stats
	e := s.Def.Entities[entity]
	if e == nil {
		return st, fmt.Errorf("connector %s has no %s entity", s.Def.Name, entity)
	}
	if err := s.init(ctx); err != nil {
		return st, err
	}
	records, err := compileJQ(e.Records)
	if err != nil {
		return st, err
	}
	var cursorCode *gojq.Code
	if e.Pagination.CursorPath != "" {
		if cursorCode, err = compileJQ(e.Pagination.CursorPath); err != nil {
			return st, err
		}
	}
	custom := map[string]*gojq.Code{}
	for name, expr := range e.Custom {
		if custom[name], err = compileJQ(expr); err != nil {
			return st, err
		}
	}
	cols := e.Columns()
	cw := csv.NewWriter(w)
	if err := cw.Write(cols); err != nil {
		return st, err
	}
	present := map[string]bool{}
	row := make([]string, len(cols))
	p := e.Pagination
	size := cmp.Or(p.Size, 100)
	page, offset, cursor := cmp.Or(p.FirstPage, 1), 0, ""
	next := "" // a Link rel=next URL
	seen := map[string]bool{}
	for {
		if st.Pages >= s.MaxPages {
			return st, &Error{Code: CodeResponse, Err: fmt.Errorf("more than %d pages: the pagination does not end", s.MaxPages)}
		}
		req, err := s.request(ctx, e, since, next, func(q url.Values) {
			switch p.Type {
			case "offset":
				q.Set(cmp.Or(p.OffsetParam, "offset"), strconv.Itoa(offset))
				q.Set(cmp.Or(p.LimitParam, "limit"), strconv.Itoa(size))
			case "page":
				q.Set(cmp.Or(p.PageParam, "page"), strconv.Itoa(page))
				q.Set(cmp.Or(p.SizeParam, "per"), strconv.Itoa(size))
			case "cursor":
				if cursor != "" {
					q.Set(cmp.Or(p.CursorParam, "cursor"), cursor)
				}
			}
		})
		if err != nil {
			return st, err
		}
		body, hdr, err := s.do(ctx, req, &st)
		if err != nil {
			return st, err
		}
		st.Pages++
		var doc any
		if err := json.Unmarshal(body, &doc); err != nil {
			return st, &Error{Code: CodeResponse, Err: fmt.Errorf("%s: the body is not JSON: %w", req.URL.Path, err)}
		}
		n := 0
		iter := records.Run(doc)
		for {
			rec, ok := iter.Next()
			if !ok {
				break
			}
			if err, isErr := rec.(error); isErr {
				return st, &Error{Code: CodeResponse, Err: fmt.Errorf("records %q: %w", e.Records, err)}
			}
			for i, c := range cols {
				code := custom[c]
				if f := e.Fields[c]; f != nil {
					code = f.code
				}
				v, err := first(code, rec)
				if err != nil {
					return st, &Error{Code: CodeResponse, Err: fmt.Errorf("%s: %w", c, err)}
				}
				row[i] = v
				if v != "" {
					present[c] = true
				}
			}
			if err := cw.Write(row); err != nil {
				return st, err
			}
			n++
		}
		st.Records += n
		var more bool
		switch p.Type {
		case "offset":
			offset += n
			more = n >= size
		case "page":
			more = n >= size
			if total, err := strconv.Atoi(hdr.Get(p.TotalPagesHeader)); err == nil && p.TotalPagesHeader != "" {
				more = page < total
			}
			page++
		case "cursor":
			cursor = ""
			if cursorCode != nil {
				cursor, _ = first(cursorCode, doc)
			} else if p.CursorHeader != "" {
				cursor = hdr.Get(p.CursorHeader)
			}
			more = cursor != ""
			if more && seen[cursor] {
				return st, &Error{Code: CodeResponse, Err: fmt.Errorf("the API returned cursor %q twice: its pagination loops", cursor)}
			}
			seen[cursor] = true
		case "link":
			next = linkNext(hdr.Values("Link"), req.URL)
			more = next != ""
		}
		if !more || s.FirstPage {
			break
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return st, err
	}
	if st.Records > 0 {
		for name, f := range e.Fields {
			if f.Required && !present[name] && f.Default == "" {
				st.Absent = append(st.Absent, name)
			}
		}
	}
	if len(st.Absent) > 0 {
		sort.Strings(st.Absent)
		if s.KeepDrift {
			return st, nil
		}
		return st, &Error{Code: CodeDrift, Err: fmt.Errorf("%s: no record has %s (read by %s): the provider renamed or dropped it; update the connector's mapping",
			entity, strings.Join(st.Absent, ", "), exprs(e, st.Absent))}
	}
	return st, nil
}

func exprs(e *Entity, names []string) string {
	var out []string
	for _, n := range names {
		out = append(out, e.Fields[n].JQ)
	}
	return strings.Join(out, ", ")
}

// request builds one page's request; next, when set, is the URL a Link
// header named.
func (s *Source) request(ctx context.Context, e *Entity, since time.Time, next string, page func(url.Values)) (*http.Request, error) {
	var u *url.URL
	var err error
	if next != "" {
		u, err = url.Parse(next)
	} else {
		base := strings.TrimSuffix(s.fill(cmp.Or(s.BaseURL, s.Def.BaseURL)), "/")
		u, err = url.Parse(base + s.fill(e.Request.Path))
	}
	if err != nil {
		return nil, fmt.Errorf("connector %s: %w", s.Def.Name, err)
	}
	body := s.fill(e.Request.Body)
	if next == "" {
		q := u.Query()
		for k, v := range e.Request.Query {
			q.Set(k, s.fill(v))
		}
		if inc := e.Incremental; inc != nil && !since.IsZero() {
			v := since.UTC().Format(cmp.Or(inc.Format, time.RFC3339))
			if inc.Body != "" {
				body = strings.ReplaceAll(s.fill(inc.Body), "{since}", v)
			}
			if inc.Param != "" {
				q.Set(inc.Param, v)
			}
		}
		page(q)
		u.RawQuery = q.Encode()
	}
	method := cmp.Or(e.Request.Method, http.MethodGet)
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// do sends a request with authentication, under the rate budget,
// retrying 429s, 5xx and lost answers; a 401 with OAuth refreshes the
// token once.
func (s *Source) do(ctx context.Context, req *http.Request, st *Stats) ([]byte, http.Header, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	refreshed := false
	for attempt := 0; ; attempt++ {
		if err := s.limiter.Wait(ctx); err != nil {
			return nil, nil, err
		}
		r := req.Clone(ctx)
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if err := s.authorize(r); err != nil {
			return nil, nil, err
		}
		st.Requests++
		resp, err := s.client.Do(r)
		var wait time.Duration
		var fail *Error
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			fail = &Error{Code: CodeUnavailable, Transient: true, Err: fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err)}
		default:
			data, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			resp.Body.Close()
			switch {
			case rerr != nil:
				fail = &Error{Code: CodeUnavailable, Transient: true, Err: fmt.Errorf("%s %s: reading the answer: %w", r.Method, r.URL.Path, rerr)}
			case resp.StatusCode < 300:
				return data, resp.Header, nil
			case resp.StatusCode == http.StatusUnauthorized && s.tokens != nil && !refreshed:
				refreshed = true
				s.tokens.expire()
				attempt--
				continue
			case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
				return nil, nil, &Error{Code: CodeAuth, Status: resp.StatusCode, Err: fmt.Errorf("%s %s: %s: the credentials are refused", r.Method, r.URL.Path, resp.Status)}
			case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
				wait = retryAfter(resp.Header)
				fail = &Error{Code: CodeUnavailable, Status: resp.StatusCode, Transient: true, Err: fmt.Errorf("%s %s: %s", r.Method, r.URL.Path, resp.Status)}
			default:
				return nil, nil, &Error{Code: CodeHTTP, Status: resp.StatusCode, Err: fmt.Errorf("%s %s: %s: %s", r.Method, r.URL.Path, resp.Status, snippet(data))}
			}
		}
		if attempt >= s.Retries {
			fail.Err = fmt.Errorf("%w (after %d attempts)", fail.Err, attempt+1)
			return nil, nil, fail
		}
		if wait == 0 {
			wait = s.RetryBase << attempt
			wait += time.Duration(rand.Int64N(int64(wait)/2 + 1))
		}
		st.Retries++
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (s *Source) authorize(r *http.Request) error {
	a := s.Def.Auth
	switch a.Type {
	case "api_key":
		v := s.fill(a.Value)
		if cmp.Or(a.In, "header") == "query" {
			q := r.URL.Query()
			q.Set(a.Name, v)
			r.URL.RawQuery = q.Encode()
		} else {
			r.Header.Set(cmp.Or(a.Name, "Authorization"), v)
		}
	case "basic":
		r.SetBasicAuth(s.fill(a.Username), s.fill(a.Password))
	default:
		tok, err := s.tokens.Token()
		if err != nil {
			return err
		}
		tok.SetAuthHeader(r)
	}
	return nil
}

// retryAfter reads how long a 429 or 503 asks to wait: Retry-After
// (seconds or a date), RateLimit's t=, or X-RateLimit-Reset / RateLimit-Reset
// (seconds, or a Unix time); at most 5 minutes.
func retryAfter(h http.Header) time.Duration {
	var d time.Duration
	if v := h.Get("Retry-After"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			d = time.Duration(n) * time.Second
		} else if t, err := http.ParseTime(v); err == nil {
			d = time.Until(t)
		}
	} else if v := h.Get("RateLimit"); strings.Contains(v, "t=") {
		t := v[strings.Index(v, "t=")+2:]
		if i := strings.IndexAny(t, ";, "); i >= 0 {
			t = t[:i]
		}
		if n, err := strconv.Atoi(t); err == nil {
			d = time.Duration(n) * time.Second
		}
	} else if v := cmp.Or(h.Get("X-RateLimit-Reset"), h.Get("RateLimit-Reset")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			if n > 1_000_000_000 {
				d = time.Until(time.Unix(n, 0))
			} else {
				d = time.Duration(n) * time.Second
			}
		}
	}
	return min(max(d, 0), 5*time.Minute)
}

// linkNext returns the rel="next" URL of Link headers, resolved against
// the request's URL, or "".
func linkNext(links []string, base *url.URL) string {
	for _, l := range links {
		for _, part := range strings.Split(l, ",") {
			segs := strings.Split(part, ";")
			if len(segs) < 2 {
				continue
			}
			target := strings.Trim(strings.TrimSpace(segs[0]), "<>")
			for _, p := range segs[1:] {
				p = strings.ReplaceAll(strings.TrimSpace(p), " ", "")
				if p == `rel="next"` || p == "rel=next" {
					if u, err := base.Parse(target); err == nil {
						return u.String()
					}
				}
			}
		}
	}
	return ""
}

// first runs a jq program on v and renders its first result as a CSV
// value: strings as they are, whole numbers without a fraction, true and
// false, null as empty, arrays and objects as JSON.
func first(code *gojq.Code, v any) (string, error) {
	it := code.Run(v)
	out, ok := it.Next()
	if !ok {
		return "", nil
	}
	switch x := out.(type) {
	case error:
		return "", x
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10), nil
		}
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	default:
		b, err := json.Marshal(x)
		return string(b), err
	}
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// VerifySignature checks a provider webhook: sig is the header's value,
// the HMAC-SHA256 of body under secret, hex (or base64) after the
// definition's prefix.
func VerifySignature(wh *Webhook, secret, sig string, body []byte) error {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	sum := mac.Sum(nil)
	want := hex.EncodeToString(sum)
	if wh.Encoding == "base64" {
		want = base64.StdEncoding.EncodeToString(sum)
	}
	got, _ := strings.CutPrefix(strings.TrimSpace(sig), wh.Prefix)
	if wh.Encoding != "base64" {
		got = strings.ToLower(got) // hex in either case
	}
	if got == "" || !hmac.Equal([]byte(got), []byte(want)) {
		return errBadSignature
	}
	return nil
}

var errBadSignature = errors.New("webhook signature does not verify")
