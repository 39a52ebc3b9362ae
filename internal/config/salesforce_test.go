package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanternhq/lantern/internal/config"
)

func TestSalesforceDefaults(t *testing.T) {
	c, err := config.Load(env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Salesforce
	if c.CRM != "local" || s.LoginURL != "https://login.salesforce.com" || s.APIVersion != "v61.0" ||
		s.ExternalIDField != "Lantern_External_Id__c" || s.MaxAPIUsage != 0.9 || s.Timeout.Seconds() != 30 {
		t.Fatalf("defaults: CRM %q, %+v", c.CRM, s)
	}
}

func TestSalesforceClientCredentials(t *testing.T) {
	c, err := config.Load(env(map[string]string{
		"LANTERN_CRM": "salesforce", "LANTERN_SALESFORCE_CLIENT_ID": "cid", "LANTERN_SALESFORCE_CLIENT_SECRET": "sec",
		"LANTERN_SALESFORCE_LOGIN_URL": "https://acme.my.salesforce.com/", "LANTERN_SALESFORCE_API_VERSION": "62.0",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.CRM != "salesforce" || c.Salesforce.ClientSecret != "sec" || c.Salesforce.LoginURL != "https://acme.my.salesforce.com" ||
		c.Salesforce.APIVersion != "v62.0" {
		t.Fatalf("%+v", c.Salesforce)
	}
}

func TestSalesforceJWT(t *testing.T) {
	key := filepath.Join(t.TempDir(), "server.key")
	if err := os.WriteFile(key, []byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"LANTERN_CRM": "salesforce", "LANTERN_SALESFORCE_CLIENT_ID": "cid",
		"LANTERN_SALESFORCE_PRIVATE_KEY_FILE": key, "LANTERN_SALESFORCE_USERNAME": "api@acme.example"}
	if _, err := config.Load(env(base), nil); err != nil {
		t.Fatal(err)
	}
	// The JWT flow needs the username, not the secret.
	delete(base, "LANTERN_SALESFORCE_USERNAME")
	_, err := config.Load(env(base), nil)
	if err == nil || !strings.Contains(err.Error(), "LANTERN_SALESFORCE_USERNAME") || !strings.Contains(err.Error(), "LANTERN_CRM") {
		t.Fatalf("err %v", err)
	}
	base["LANTERN_SALESFORCE_USERNAME"] = "api@acme.example"
	base["LANTERN_SALESFORCE_PRIVATE_KEY_FILE"] = filepath.Join(t.TempDir(), "missing.key")
	if _, err := config.Load(env(base), nil); err == nil || !strings.Contains(err.Error(), "LANTERN_SALESFORCE_PRIVATE_KEY_FILE") {
		t.Fatalf("missing key file: %v", err)
	}
}

func TestSalesforceMissingSettingsAreNamed(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"LANTERN_CRM": "salesforce"}, "LANTERN_SALESFORCE_CLIENT_ID"},
		{map[string]string{"LANTERN_CRM": "salesforce", "LANTERN_SALESFORCE_CLIENT_ID": "cid"}, "LANTERN_SALESFORCE_CLIENT_SECRET"},
		{map[string]string{"LANTERN_CRM": "hubspot"}, "LANTERN_CRM"},
		{map[string]string{"LANTERN_SALESFORCE_API_VERSION": "latest"}, "LANTERN_SALESFORCE_API_VERSION"},
		{map[string]string{"LANTERN_SALESFORCE_API_VERSION": "v40.0"}, "LANTERN_SALESFORCE_API_VERSION"},
		{map[string]string{"LANTERN_SALESFORCE_EXTERNAL_ID_FIELD": "Ext Id'"}, "LANTERN_SALESFORCE_EXTERNAL_ID_FIELD"},
		{map[string]string{"LANTERN_SALESFORCE_LOGIN_URL": "login.salesforce.com"}, "LANTERN_SALESFORCE_LOGIN_URL"},
		{map[string]string{"LANTERN_SALESFORCE_MAX_API_USAGE": "2"}, "LANTERN_SALESFORCE_MAX_API_USAGE"},
	} {
		_, err := config.Load(env(tc.env), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v does not name %s", tc.env, err, tc.want)
		}
	}
	// The secret is never echoed.
	_, err := config.Load(env(map[string]string{"LANTERN_CRM": "sf", "LANTERN_SALESFORCE_CLIENT_SECRET": "hunter2"}), nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err %v", err)
	}
	// With the local CRM, Salesforce settings are not required.
	if _, err := config.Load(env(map[string]string{"LANTERN_CRM": "local"}), nil); err != nil {
		t.Fatal(err)
	}
}
