package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hrisbridge/hrisbridge/schema"
)

// loginPage shows the operators' sign-in form with a fresh CSRF pair
// (a cookie and the same value in the form).
func (cs *consoleServer) loginPage(c *gin.Context) {
	tok, _ := NewToken()
	cs.setCookie(c, loginCookie, tok, 3600)
	cs.render(c, http.StatusOK, "login", page{Title: "Sign in", CSRF: tok, Data: safeNext(c.Query("next"))})
}

// safeNext keeps a post-sign-in redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/console/"
	}
	return next
}

// login checks an operator's e-mail and password, throttled per e-mail
// and per client address, and opens a new session: whatever session
// cookie the browser held before is ended and replaced (no fixation).
func (cs *consoleServer) login(c *gin.Context) {
	pair, _ := c.Cookie(loginCookie)
	if !sameOrigin(c) || !tokenEqual(c.PostForm("csrf"), pair) {
		cs.errorPage(c, http.StatusForbidden, "This sign-in form has expired. Reload the page and try again.")
		return
	}
	email := strings.ToLower(strings.TrimSpace(c.PostForm("email")))
	now := time.Now()
	for _, key := range []string{"email:" + email, "ip:" + c.ClientIP()} {
		if wait := cs.logins.Blocked(key, now); wait > 0 {
			c.Header("Retry-After", retryAfter(wait))
			cs.render(c, http.StatusTooManyRequests, "login", page{Title: "Sign in", CSRF: pair, Data: safeNext(c.PostForm("next")),
				Problem: "Too many failed sign-ins. Try again in " + wait.Round(time.Minute).String() + "."})
			return
		}
	}
	op, err := cs.s.cfg.Store.OperatorByEmail(c.Request.Context(), email)
	if err != nil && !errors.Is(err, schema.ErrNotFound) {
		cs.fail(c, err)
		return
	}
	hash := op.PasswordHash
	if err != nil {
		hash = dummyHash()
	}
	if !checkPassword(hash, c.PostForm("password")) || err != nil {
		cs.logins.Fail("email:"+email, now)
		cs.logins.Fail("ip:"+c.ClientIP(), now)
		cs.s.cfg.Logger.WarnContext(c.Request.Context(), "console sign-in refused", "email", email, "client", c.ClientIP())
		cs.render(c, http.StatusUnauthorized, "login", page{Title: "Sign in", CSRF: pair, Data: safeNext(c.PostForm("next")),
			Problem: "Wrong e-mail or password."})
		return
	}
	cs.logins.Reset("email:" + email)
	if err := cs.open(c, schema.ConsoleSession{OperatorID: op.ID, Actor: "operator:" + op.Email, PII: op.PII}); err != nil {
		cs.fail(c, err)
		return
	}
	cs.setCookie(c, loginCookie, "", -1)
	cs.audit(c, "", "console.sign_in", "operator:"+op.Email)
	c.Redirect(http.StatusSeeOther, safeNext(c.PostForm("next")))
}

func retryAfter(d time.Duration) string {
	return strings.TrimSuffix((d.Round(time.Second) + time.Second).String(), "s")
}

// open ends the browser's current session, if any, and starts sess under
// a new token.
func (cs *consoleServer) open(c *gin.Context, sess schema.ConsoleSession) error {
	if old, err := c.Cookie(sessionCookie); err == nil && old != "" {
		if err := cs.s.cfg.Store.DeleteSession(c.Request.Context(), tokenHash(old)); err != nil {
			return err
		}
	}
	token, hash := NewToken()
	sess.Hash, sess.ExpiresAt = hash, time.Now().Add(cs.cfg.SessionTTL)
	if err := cs.s.cfg.Store.CreateSession(c.Request.Context(), &sess); err != nil {
		return err
	}
	cs.setCookie(c, sessionCookie, token, int(cs.cfg.SessionTTL.Seconds()))
	c.Set(sessionCtx, &consoleSession{ConsoleSession: sess, token: token})
	return nil
}

func (cs *consoleServer) logout(c *gin.Context) {
	if err := cs.s.cfg.Store.DeleteSession(c.Request.Context(), session(c).Hash); err != nil {
		cs.fail(c, err)
		return
	}
	cs.setCookie(c, sessionCookie, "", -1)
	c.Redirect(http.StatusSeeOther, "/console/login")
}

// linkPage is where a magic link lands. It spends nothing: mail scanners
// fetch links, so the link is spent only by the button's POST.
func (cs *consoleServer) linkPage(c *gin.Context) {
	tok, _ := NewToken()
	cs.setCookie(c, loginCookie, tok, 3600)
	cs.render(c, http.StatusOK, "link", page{Title: "Welcome", CSRF: tok, Data: c.Param("token")})
}

// useLink spends a magic link and opens an HR admin's session scoped to
// the link's tenant.
func (cs *consoleServer) useLink(c *gin.Context) {
	pair, _ := c.Cookie(loginCookie)
	if !sameOrigin(c) || !tokenEqual(c.PostForm("csrf"), pair) {
		cs.errorPage(c, http.StatusForbidden, "This page has expired. Open the link from your e-mail again.")
		return
	}
	now := time.Now()
	ip := "ip:" + c.ClientIP()
	if wait := cs.logins.Blocked(ip, now); wait > 0 {
		c.Header("Retry-After", retryAfter(wait))
		cs.errorPage(c, http.StatusTooManyRequests, "Too many attempts. Try again in "+wait.Round(time.Minute).String()+".")
		return
	}
	l, err := cs.s.cfg.Store.UseMagicLink(c.Request.Context(), tokenHash(c.PostForm("token")), now)
	if errors.Is(err, schema.ErrNotFound) {
		cs.logins.Fail(ip, now)
		cs.errorPage(c, http.StatusGone, "This link has expired, was already used, or was revoked. Ask your benefits platform's support for a new one.")
		return
	}
	if err != nil {
		cs.fail(c, err)
		return
	}
	if err := cs.open(c, schema.ConsoleSession{LinkID: l.ID, TenantID: l.TenantID, Actor: "link:" + cmpOr(l.Email, l.ID), PII: l.PII}); err != nil {
		cs.fail(c, err)
		return
	}
	cs.setCookie(c, loginCookie, "", -1)
	cs.audit(c, l.TenantID, "console.link_used", l.ID)
	t, err := cs.tenantByID(c.Request.Context(), l.TenantID)
	if err != nil {
		cs.fail(c, err)
		return
	}
	conns, err := cs.s.cfg.Store.Connections(c.Request.Context(), l.TenantID)
	if err != nil {
		cs.fail(c, err)
		return
	}
	if len(conns) == 0 {
		c.Redirect(http.StatusSeeOther, "/console/t/"+t.Slug+"/connect")
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/t/"+t.Slug)
}

func (cs *consoleServer) tenantByID(ctx context.Context, id string) (schema.Tenant, error) {
	ts, err := cs.s.cfg.Store.Tenants(ctx)
	if err != nil {
		return schema.Tenant{}, err
	}
	for _, t := range ts {
		if t.ID == id {
			return t, nil
		}
	}
	return schema.Tenant{}, schema.ErrNotFound
}

// home is the operators' fleet view; an HR admin goes to their tenant.
func (cs *consoleServer) home(c *gin.Context) {
	sess := session(c)
	if !sess.operator() {
		t, err := cs.tenantByID(c.Request.Context(), sess.TenantID)
		if err != nil {
			cs.fail(c, err)
			return
		}
		c.Redirect(http.StatusSeeOther, "/console/t/"+t.Slug)
		return
	}
	rows, err := cs.fleet(c.Request.Context())
	if err != nil {
		cs.fail(c, err)
		return
	}
	cs.render(c, http.StatusOK, "fleet", page{Title: "Every employer", Data: rows})
}

// linksPage lists a tenant's magic links (operators).
func (cs *consoleServer) linksPage(c *gin.Context) {
	ls, err := cs.s.cfg.Store.MagicLinks(c.Request.Context(), tenantID(c))
	if err != nil {
		cs.fail(c, err)
		return
	}
	cs.render(c, http.StatusOK, "links", page{Title: "Magic links", Nav: "links", Data: linksData{Links: ls, Mail: cs.cfg.Mail != nil}})
}

type linksData struct {
	Links []schema.MagicLink
	Mail  bool
	// New is a link just made, shown once.
	New string
}

// createLink makes a magic link for an HR admin of the tenant and shows
// it once (or e-mails it when mail is configured and asked for).
func (cs *consoleServer) createLink(c *gin.Context) {
	ttl := cs.cfg.LinkTTL
	if h := c.PostForm("hours"); h != "" {
		d, err := time.ParseDuration(h + "h")
		if err != nil || d <= 0 || d > 30*24*time.Hour {
			cs.errorPage(c, http.StatusUnprocessableEntity, "A link lives between 1 hour and 30 days.")
			return
		}
		ttl = d
	}
	l := schema.MagicLink{TenantID: tenantID(c), Email: strings.TrimSpace(c.PostForm("email")),
		PII: c.PostForm("pii") == "on", Creator: session(c).Actor, Expires: time.Now().Add(ttl)}
	path, err := NewMagicLink(c.Request.Context(), cs.s.cfg.Store, &l)
	if err != nil {
		cs.fail(c, err)
		return
	}
	cs.audit(c, l.TenantID, "console.link_create", l.ID)
	link := cs.baseURL(c) + path
	notice := ""
	if cs.cfg.Mail != nil && c.PostForm("send") == "on" && l.Email != "" {
		body := "Sign in to set up and watch your employee data feed for " + consoleTenant(c).Name + ":\n\n" + link +
			"\n\nThe link works once and expires at " + l.Expires.UTC().Format(time.RFC1123) + ".\n"
		if err := cs.cfg.Mail(c.Request.Context(), l.Email, "Your hrisbridge sign-in link", body); err != nil {
			cs.fail(c, err)
			return
		}
		notice = "Sent to " + l.Email + "."
	}
	ls, err := cs.s.cfg.Store.MagicLinks(c.Request.Context(), tenantID(c))
	if err != nil {
		cs.fail(c, err)
		return
	}
	cs.render(c, http.StatusCreated, "links", page{Title: "Magic links", Nav: "links", Notice: notice,
		Data: linksData{Links: ls, Mail: cs.cfg.Mail != nil, New: link}})
}

// NewMagicLink stores l (TenantID, Email, PII, Creator and Expires set)
// under a new token and returns the link's path (/console/link/TOKEN):
// the token is not stored and cannot be shown again.
func NewMagicLink(ctx context.Context, st schema.ConsoleStore, l *schema.MagicLink) (string, error) {
	token, hash := NewToken()
	l.Hash = hash
	if err := st.CreateMagicLink(ctx, l); err != nil {
		return "", err
	}
	return "/console/link/" + token, nil
}

func (cs *consoleServer) baseURL(c *gin.Context) string {
	if cs.cfg.BaseURL != "" {
		return strings.TrimSuffix(cs.cfg.BaseURL, "/")
	}
	return origin(c)
}

func (cs *consoleServer) revokeLink(c *gin.Context) {
	if err := cs.s.cfg.Store.RevokeMagicLink(c.Request.Context(), tenantID(c), c.Param("id")); err != nil {
		cs.fail(c, err)
		return
	}
	cs.audit(c, tenantID(c), "console.link_revoke", c.Param("id"))
	done(c, tenantURL(c, "/links"), "Link revoked; anyone signed in with it is signed out.")
}
