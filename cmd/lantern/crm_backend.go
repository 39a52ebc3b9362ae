package main

import (
	"log/slog"

	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/crm/salesforce"
)

// newCRM is the CRM store LANTERN_CRM selects: Lantern's own Postgres store (local), or the
// Salesforce org the LANTERN_SALESFORCE_* settings name.
func newCRM(cfg *config.Config, db *bun.DB) (crm.Store, error) {
	if cfg.CRM == "salesforce" {
		c, err := salesforce.New(cfg.Salesforce)
		if err != nil {
			return nil, err
		}
		slog.Info("CRM: Salesforce", "login_url", cfg.Salesforce.LoginURL, "api_version", cfg.Salesforce.APIVersion)
		return c, nil
	}
	return &crm.Local{DB: db, Region: cfg.Enrich.DefaultRegion}, nil
}
