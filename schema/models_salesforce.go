package schema

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// SFMerge is one merge of duplicates into a master, with the before-images its undo needs.
type SFMerge struct {
	bun.BaseModel `bun:"table:sf_merges"`

	OrgID          uuid.UUID       `bun:"org_id,pk,type:uuid"`
	ID             uuid.UUID       `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	Object         string          `bun:"object,notnull"`
	MasterID       string          `bun:"master_id,notnull"`
	DuplicateIDs   []string        `bun:"duplicate_ids,array,notnull"`
	Policy         string          `bun:"policy,notnull"`
	MasterBefore   json.RawMessage `bun:"master_before,type:jsonb,notnull"`
	MasterAfter    json.RawMessage `bun:"master_after,type:jsonb,notnull"`
	MasterVersion  int64           `bun:"master_version,notnull"`
	LosersBefore   json.RawMessage `bun:"losers_before,type:jsonb,notnull"`
	Children       json.RawMessage `bun:"children,type:jsonb,notnull"`
	RequestID      string          `bun:"request_id,notnull"`
	IdempotencyKey *string         `bun:"idempotency_key"`
	CreatedAt      time.Time       `bun:"created_at,notnull,default:now()"`
	UndoneAt       *time.Time      `bun:"undone_at"`
}

// SFConversion is one lead conversion run by the conversion saga: what it created and the
// records it changed as they were before, so a compensation can put them back.
type SFConversion struct {
	bun.BaseModel `bun:"table:sf_conversions"`

	OrgID         uuid.UUID       `bun:"org_id,pk,type:uuid"`
	ID            string          `bun:"id,pk"`
	LeadID        string          `bun:"lead_id,notnull"`
	State         string          `bun:"state,notnull"`
	Result        json.RawMessage `bun:"result,type:jsonb,notnull"`
	Before        json.RawMessage `bun:"before,type:jsonb,notnull"`
	CreatedIDs    []string        `bun:"created_ids,array,notnull"`
	CreatedAt     time.Time       `bun:"created_at,notnull,default:now()"`
	CompensatedAt *time.Time      `bun:"compensated_at"`
}

// SFMergePolicy is an org's merge policy.
type SFMergePolicy struct {
	bun.BaseModel `bun:"table:sf_merge_policies"`

	OrgID              uuid.UUID         `bun:"org_id,pk,type:uuid"`
	DefaultPolicy      string            `bun:"default_policy,notnull"`
	FieldOverrides     map[string]string `bun:"field_overrides,type:jsonb,notnull"`
	AutoMerge          bool              `bun:"auto_merge,notnull"`
	AutoMergeThreshold float64           `bun:"auto_merge_threshold,notnull"`
	ConvertedStatus    string            `bun:"converted_status,notnull"`
	CreateOpportunity  bool              `bun:"create_opportunity,notnull"`
	UpdatedAt          time.Time         `bun:"updated_at,notnull,default:now()"`
}
