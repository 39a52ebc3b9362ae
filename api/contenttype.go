package api

import (
	"bufio"
	"io"
	"net/http"
	"strings"
)

// curlJSON reads a JSON body sent without a JSON content type as JSON. `curl -d '{...}'` labels
// its body application/x-www-form-urlencoded unless told otherwise; no operation here takes
// form data, so a body that starts like a JSON object or array can only mean JSON. Anything
// else keeps its content type and gets Huma's 415.
func curlJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		if r.ContentLength != 0 && r.Method != http.MethodGet && r.Method != http.MethodHead &&
			(ct == "" || strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded")) {
			br := bufio.NewReaderSize(r.Body, 64)
			if looksLikeJSON(br) {
				r.Header.Set("Content-Type", "application/json")
			}
			r.Body = struct {
				io.Reader
				io.Closer
			}{br, r.Body}
		}
		next.ServeHTTP(w, r)
	})
}

// looksLikeJSON peeks past leading white space for '{' or '['.
func looksLikeJSON(br *bufio.Reader) bool {
	for n := 1; n <= 64; n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			return false
		}
		switch c := b[n-1]; c {
		case ' ', '\t', '\r', '\n':
			if err != nil {
				return false
			}
			continue
		case '{', '[':
			return true
		default:
			return false
		}
	}
	return false
}
