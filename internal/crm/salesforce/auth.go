package salesforce

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
)

// tokenResponse is the OAuth 2.0 token endpoint's answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	InstanceURL string `json:"instance_url"`
	ID          string `json:"id"`
	TokenType   string `json:"token_type"`
	IssuedAt    string `json:"issued_at"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// authenticate fetches an access token from {login_url}/services/oauth2/token with the JWT
// bearer flow (when a private key is configured) or the client credentials flow, and keeps it
// with the org's instance URL.
func (c *Client) authenticate(ctx context.Context) (session, error) {
	form := url.Values{}
	if c.key != nil {
		assertion, err := c.assertion()
		if err != nil {
			return session{}, err
		}
		form.Set("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
		form.Set("assertion", assertion)
	} else {
		form.Set("grant_type", "client_credentials")
		form.Set("client_id", c.cfg.ClientID)
		form.Set("client_secret", c.cfg.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.LoginURL+"/services/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return session{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return session{}, ctx.Err()
		}
		return session{}, apperr.Wrap(apperr.Unavailable, err, "Salesforce's login service did not answer")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return session{}, apperr.Wrap(apperr.Unavailable, err, "Salesforce's login answer was cut off")
	}
	var tr tokenResponse
	jsonErr := json.Unmarshal(body, &tr)
	if resp.StatusCode != http.StatusOK || jsonErr != nil || tr.AccessToken == "" || tr.InstanceURL == "" {
		cause := fmt.Errorf("salesforce token endpoint: %d %s: %s", resp.StatusCode, tr.Error, tr.Description)
		if resp.StatusCode >= 500 {
			return session{}, apperr.Wrap(apperr.Unavailable, cause, "Salesforce's login service is unavailable")
		}
		code := tr.Error
		if code == "" {
			code = "no token"
		}
		// The OAuth error code (invalid_grant, invalid_client_id, ...) is safe to show; the
		// description stays in the logs.
		return session{}, apperr.Wrap(apperr.Unavailable, cause,
			"Salesforce refused Lantern's credentials (%s); check the LANTERN_SALESFORCE_* settings", safeCode(code))
	}
	u, err := url.Parse(tr.InstanceURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return session{}, apperr.New(apperr.Unavailable, "Salesforce answered an unusable instance_url")
	}
	s := session{token: tr.AccessToken, instance: strings.TrimRight(tr.InstanceURL, "/")}
	c.mu.Lock()
	c.token, c.instanceURL = s.token, s.instance
	c.mu.Unlock()
	return s, nil
}

// safeCode keeps an upstream error code to letters, digits and _ so that it may be shown.
func safeCode(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		}
		if b.Len() >= 64 {
			break
		}
	}
	return b.String()
}

// assertion is the RS256-signed JWT of the bearer flow: iss is the connected app's consumer
// key, sub the username, aud the login host, exp three minutes ahead (Salesforce's maximum).
func (c *Client) assertion() (string, error) {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	claims, err := json.Marshal(map[string]any{
		"iss": c.cfg.ClientID,
		"sub": c.cfg.Username,
		"aud": audience(c.cfg.LoginURL),
		"exp": c.now().Add(3 * time.Minute).Unix(),
	})
	if err != nil {
		return "", err
	}
	signing := header + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// audience is the aud claim Salesforce expects: https://test.salesforce.com for sandboxes,
// https://login.salesforce.com for production (also when the token endpoint is a My Domain),
// else the login URL itself.
func audience(loginURL string) string {
	u, err := url.Parse(loginURL)
	if err != nil {
		return loginURL
	}
	h := strings.ToLower(u.Hostname())
	switch {
	case h == "test.salesforce.com" || strings.HasSuffix(h, ".sandbox.my.salesforce.com"):
		return "https://test.salesforce.com"
	case h == "login.salesforce.com" || strings.HasSuffix(h, ".my.salesforce.com"):
		return "https://login.salesforce.com"
	}
	return strings.TrimRight(loginURL, "/")
}

// readKey reads a PEM RSA private key (PKCS #1 or PKCS #8).
func readKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseKey(b)
}

func parseKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not an RSA private key (PKCS #1 or PKCS #8 PEM)")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA private key")
	}
	return rk, nil
}
