package client_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/hrisbridge/hrisbridge/api/client"
	"github.com/hrisbridge/hrisbridge/api/webhook"
)

// Every active employee, page by page.
func Example() {
	ctx := context.Background()
	c, err := client.NewClientWithResponses("http://127.0.0.1:8080", client.WithRequestEditorFn(
		func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+os.Getenv("HRISBRIDGE_KEY"))
			return nil
		}))
	if err != nil {
		log.Fatal(err)
	}
	active, limit := client.ListEmployeesParamsEmploymentStatus("active"), 1000
	params := &client.ListEmployeesParams{EmploymentStatus: &active, Limit: &limit}
	for {
		page, err := c.ListEmployeesWithResponse(ctx, params)
		if err != nil {
			log.Fatal(err)
		}
		if page.JSON200 == nil {
			log.Fatalf("%d: %s", page.StatusCode(), page.Body) // an RFC 9457 problem
		}
		for _, e := range page.JSON200.Data {
			fmt.Println(*e.ExternalId, *e.LastName)
		}
		if page.JSON200.NextCursor == nil {
			break
		}
		params.Cursor = page.JSON200.NextCursor
	}
}

// A webhook receiver that verifies each delivery before trusting it.
func Example_webhookReceiver() {
	secret := os.Getenv("HRISBRIDGE_WEBHOOK_SECRET") // whsec_..., shown once when the endpoint was created
	http.HandleFunc("/hrisbridge", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || webhook.Verify(secret, r.Header, body, time.Now()) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		// webhook-id is the event's id: deliveries are at least once, so
		// skip an id already handled.
		fmt.Println(r.Header.Get("webhook-id"), string(body))
		w.WriteHeader(http.StatusNoContent)
	})
}
