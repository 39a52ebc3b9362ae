package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCurlJSON(t *testing.T) {
	h := curlJSON(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Header.Get("Content-Type")+"|"+string(b))
	}))
	for _, c := range []struct{ method, ct, body, want string }{
		{"POST", "application/x-www-form-urlencoded", `{"phone":"+1 415"}`, `application/json|{"phone":"+1 415"}`},
		{"POST", "", "\n  [1,2]", "application/json|\n  [1,2]"},
		{"POST", "application/x-www-form-urlencoded", "a=1&b=2", "application/x-www-form-urlencoded|a=1&b=2"},
		{"POST", "text/csv", "{x", "text/csv|{x"},
		{"PUT", "application/json", `{"a":1}`, `application/json|{"a":1}`},
		{"POST", "application/x-www-form-urlencoded", "   ", "application/x-www-form-urlencoded|   "},
		{"POST", "application/x-www-form-urlencoded", strings.Repeat(" ", 100) + "{}", "application/x-www-form-urlencoded|" + strings.Repeat(" ", 100) + "{}"},
	} {
		r := httptest.NewRequest(c.method, "/v1/x", strings.NewReader(c.body))
		if c.ct != "" {
			r.Header.Set("Content-Type", c.ct)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Body.String(); got != c.want {
			t.Errorf("%s %q %q: got %q, want %q", c.method, c.ct, c.body, got, c.want)
		}
	}
}
