// Listing employees page by page and verifying a webhook, with a client
// typed from hrisbridge's /openapi.json (openapi-typescript + openapi-fetch).
import createClient from "openapi-fetch";
import { createHmac, timingSafeEqual } from "node:crypto";
import type { components, paths } from "./schema.d.ts";

type Employee = components["schemas"]["Employee"];

const api = createClient<paths>({
  baseUrl: process.env.HRISBRIDGE_URL ?? "http://127.0.0.1:8080",
  headers: { Authorization: `Bearer ${process.env.HRISBRIDGE_KEY}` },
});

// Every active employee, following next_cursor until it is null.
export async function activeEmployees(): Promise<Employee[]> {
  const all: Employee[] = [];
  let cursor: string | undefined;
  do {
    const { data, error } = await api.GET("/v1/employees", {
      params: { query: { employment_status: "active", limit: 1000, cursor } },
    });
    if (error) throw new Error(`${error.status} ${error.code}: ${error.detail}`);
    if (typeof data === "string") throw new Error("asked for JSON, got CSV"); // the route also offers text/csv
    all.push(...data.data);
    cursor = data.next_cursor ?? undefined;
  } while (cursor);
  return all;
}

// verifyWebhook checks a delivery's Standard Webhooks signature: HMAC-SHA256
// over "id.timestamp.body" with the endpoint's whsec_ secret, within five
// minutes of now.
export function verifyWebhook(secret: string, headers: Record<string, string>, body: string): boolean {
  const id = headers["webhook-id"], timestamp = headers["webhook-timestamp"];
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest();
  return (headers["webhook-signature"] ?? "").split(" ").some((sig) => {
    const [version, value] = sig.split(",");
    const got = Buffer.from(value ?? "", "base64");
    return version === "v1" && got.length === expected.length && timingSafeEqual(got, expected);
  });
}
