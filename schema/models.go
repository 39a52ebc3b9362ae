// Package schema holds Lantern's bun models and its embedded SQL migrations. Models mirror the
// tables one to one; domain packages query through them with bun.IDB so the same code runs
// inside or outside a transaction.
package schema

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

type Org struct {
	bun.BaseModel `bun:"table:orgs"`

	ID        uuid.UUID `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	Name      string    `bun:"name,notnull"`
	Slug      string    `bun:"slug,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull,default:now()"`
}

type APIKey struct {
	bun.BaseModel `bun:"table:api_keys"`

	ID         uuid.UUID      `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	OrgID      uuid.UUID      `bun:"org_id,type:uuid,notnull"`
	Name       string         `bun:"name,notnull"`
	Prefix     string         `bun:"prefix,notnull"`
	Hash       []byte         `bun:"hash,notnull"`
	RateLimits map[string]int `bun:"rate_limits,type:jsonb,notnull"`
	CreatedAt  time.Time      `bun:"created_at,notnull,default:now()"`
	RevokedAt  bun.NullTime   `bun:"revoked_at"`
}

type CreditBalance struct {
	bun.BaseModel `bun:"table:credit_balances"`

	OrgID     uuid.UUID `bun:"org_id,pk,type:uuid"`
	Balance   int64     `bun:"balance,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull,default:now()"`
}

type CreditEntry struct {
	bun.BaseModel `bun:"table:credit_ledger"`

	ID           int64      `bun:"id,pk,autoincrement"`
	OrgID        uuid.UUID  `bun:"org_id,type:uuid,notnull"`
	APIKeyID     *uuid.UUID `bun:"api_key_id,type:uuid"`
	Kind         string     `bun:"kind,notnull"`
	RequestID    string     `bun:"request_id,notnull"`
	Step         string     `bun:"step,notnull"`
	Service      string     `bun:"service,notnull"`
	Amount       int64      `bun:"amount,notnull"`
	BalanceAfter int64      `bun:"balance_after,notnull"`
	Memo         string     `bun:"memo,notnull"`
	CreatedAt    time.Time  `bun:"created_at,notnull,default:now()"`
}

type RateLimitWindow struct {
	bun.BaseModel `bun:"table:rate_limit_windows"`

	APIKeyID    uuid.UUID `bun:"api_key_id,pk,type:uuid"`
	Group       string    `bun:"grp,pk"`
	WindowStart time.Time `bun:"window_start,pk"`
	OrgID       uuid.UUID `bun:"org_id,type:uuid,notnull"`
	Count       int       `bun:"count,notnull"`
	LastGrant   int       `bun:"last_grant,notnull"`
}

type IdempotencyRecord struct {
	bun.BaseModel `bun:"table:idempotency_records"`

	OrgID       uuid.UUID `bun:"org_id,pk,type:uuid"`
	Scope       string    `bun:"scope,pk"`
	Key         string    `bun:"key,pk"`
	RequestHash []byte    `bun:"request_hash,notnull"`
	State       string    `bun:"state,notnull"`
	Status      int       `bun:"status,nullzero"`
	Response    []byte    `bun:"response,nullzero"`
	CreatedAt   time.Time `bun:"created_at,notnull,default:now()"`
	ExpiresAt   time.Time `bun:"expires_at,notnull"`
}

// RouteLog is one audit entry. Optional seed fields are pointers so that absent stays absent.
type RouteLog struct {
	bun.BaseModel `bun:"table:route_logs"`

	OrgID          uuid.UUID       `bun:"org_id,pk,type:uuid"`
	ID             int64           `bun:"id,pk,autoincrement"`
	Timestamp      time.Time       `bun:"timestamp,pk"`
	Object         string          `bun:"object,notnull"`
	ObjectID       string          `bun:"object_id,notnull"`
	Action         string          `bun:"action,notnull"`
	Pool           *string         `bun:"pool"`
	AssignedTo     *string         `bun:"assigned_to"`
	PrevOwner      *string         `bun:"prev_owner"`
	Sequence       *int64          `bun:"sequence"`
	Reason         string          `bun:"reason,notnull"`
	RequestID      string          `bun:"request_id,notnull"`
	IdempotencyKey string          `bun:"idempotency_key,notnull"`
	Diff           json.RawMessage `bun:"diff,type:jsonb,nullzero"`
}

type RouteLogKey struct {
	bun.BaseModel `bun:"table:route_log_keys"`

	OrgID          uuid.UUID `bun:"org_id,pk,type:uuid"`
	IdempotencyKey string    `bun:"idempotency_key,pk"`
	Action         string    `bun:"action,pk"`
	ObjectID       string    `bun:"object_id,pk"`
	Timestamp      time.Time `bun:"timestamp,notnull"`
}

type LogRetentionSetting struct {
	bun.BaseModel `bun:"table:log_retention_settings"`

	OrgID         uuid.UUID `bun:"org_id,pk,type:uuid"`
	RetentionDays int       `bun:"retention_days,notnull"`
	AutoCleanup   bool      `bun:"auto_cleanup,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull,default:now()"`
}

type EnrichCache struct {
	bun.BaseModel `bun:"table:enrich_cache"`

	OrgID     uuid.UUID `bun:"org_id,pk,type:uuid"`
	Service   string    `bun:"service,pk"`
	RecordID  string    `bun:"record_id,pk"`
	InputHash []byte    `bun:"input_hash,pk"`
	Response  []byte    `bun:"response,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull,default:now()"`
	ExpiresAt time.Time `bun:"expires_at,notnull"`
}

type KnownEmail struct {
	bun.BaseModel `bun:"table:known_emails"`

	OrgID      uuid.UUID `bun:"org_id,pk,type:uuid"`
	Email      string    `bun:"email,pk"`
	Domain     string    `bun:"domain,notnull"`
	FirstName  string    `bun:"first_name,notnull"`
	LastName   string    `bun:"last_name,notnull"`
	Source     string    `bun:"source,notnull"`
	ObservedAt time.Time `bun:"observed_at,notnull,default:now()"`
}

type CRMRecord struct {
	bun.BaseModel `bun:"table:crm_records"`

	OrgID          uuid.UUID      `bun:"org_id,pk,type:uuid"`
	ID             string         `bun:"id,pk"`
	Object         string         `bun:"object,notnull"`
	ExternalID     *string        `bun:"external_id"`
	Fields         map[string]any `bun:"fields,type:jsonb,notnull"`
	NameNorm       string         `bun:"name_norm,notnull"`
	Domain         string         `bun:"domain,notnull"`
	Email          string         `bun:"email,notnull"`
	Phone          string         `bun:"phone,notnull"`
	City           string         `bun:"city,notnull"`
	PostalCode     string         `bun:"postal_code,notnull"`
	OwnerID        string         `bun:"owner_id,notnull"`
	AccountID      string         `bun:"account_id,notnull"`
	Birthdate      string         `bun:"birthdate,notnull"`
	Version        int64          `bun:"version,notnull"`
	CreatedAt      time.Time      `bun:"created_at,notnull,default:now()"`
	LastModifiedAt time.Time      `bun:"last_modified_at,notnull,default:now()"`
}

type RoutingPool struct {
	bun.BaseModel `bun:"table:routing_pools"`

	ID           uuid.UUID `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	OrgID        uuid.UUID `bun:"org_id,type:uuid,notnull"`
	Name         string    `bun:"name,notnull"`
	Objects      []string  `bun:"objects,array,notnull"`
	OnReturn     string    `bun:"on_return,notnull"`
	LastSequence int64     `bun:"last_sequence,notnull"`
	CreatedAt    time.Time `bun:"created_at,notnull,default:now()"`
	UpdatedAt    time.Time `bun:"updated_at,notnull,default:now()"`
}

type RoutingMember struct {
	bun.BaseModel `bun:"table:routing_members"`

	OrgID            uuid.UUID       `bun:"org_id,type:uuid,notnull"`
	PoolID           uuid.UUID       `bun:"pool_id,pk,type:uuid"`
	UserID           string          `bun:"user_id,pk"`
	Position         int64           `bun:"position,nullzero"` // identity: zero inserts DEFAULT
	Weight           int             `bun:"weight,notnull"`
	Status           string          `bun:"status,notnull"`
	OutOfOfficeUntil *time.Time      `bun:"out_of_office_until"`
	CapDay           *int            `bun:"cap_day"`
	CapWeek          *int            `bun:"cap_week"`
	WorkingHours     json.RawMessage `bun:"working_hours,type:jsonb,nullzero"`
	CurrentWeight    int64           `bun:"current_weight,notnull"`
	Assigned         int64           `bun:"assigned,notnull"`
	CreatedAt        time.Time       `bun:"created_at,notnull,default:now()"`
	UpdatedAt        time.Time       `bun:"updated_at,notnull,default:now()"`
}

type RoutingAssignment struct {
	bun.BaseModel `bun:"table:routing_assignments"`

	OrgID          uuid.UUID `bun:"org_id,type:uuid,notnull"`
	PoolID         uuid.UUID `bun:"pool_id,pk,type:uuid"`
	Sequence       int64     `bun:"sequence,pk"`
	Object         string    `bun:"object,notnull"`
	ObjectID       string    `bun:"object_id,notnull"`
	UserID         string    `bun:"user_id,notnull"`
	PrevOwner      string    `bun:"prev_owner,notnull"`
	Reason         string    `bun:"reason,notnull"`
	RequestID      string    `bun:"request_id,notnull"`
	IdempotencyKey *string   `bun:"idempotency_key"`
	AssignedAt     time.Time `bun:"assigned_at,notnull"`
}

type RoutingReset struct {
	bun.BaseModel `bun:"table:routing_resets"`

	ID        int64           `bun:"id,pk,autoincrement"`
	OrgID     uuid.UUID       `bun:"org_id,type:uuid,notnull"`
	PoolID    uuid.UUID       `bun:"pool_id,type:uuid,notnull"`
	Mode      string          `bun:"mode,notnull"`
	Reason    string          `bun:"reason,notnull"`
	RequestID string          `bun:"request_id,notnull"`
	Sequence  int64           `bun:"sequence,notnull"`
	Before    json.RawMessage `bun:"before,type:jsonb,notnull"`
	ResetAt   time.Time       `bun:"reset_at,notnull"`
}

// Batch is one Async API batch (/v1/agents); its input and results are in S3 under Prefix.
type Batch struct {
	bun.BaseModel `bun:"table:batches"`

	OrgID           uuid.UUID  `bun:"org_id,pk,type:uuid"`
	ID              string     `bun:"id,pk"`
	APIKeyID        *uuid.UUID `bun:"api_key_id,type:uuid"`
	Type            string     `bun:"type,notnull"`
	State           string     `bun:"state,notnull"`
	Total           int        `bun:"total,notnull"`
	MaxCredits      int64      `bun:"max_credits,notnull"`
	CreditsReserved int64      `bun:"credits_reserved,notnull"`
	CreditsUsed     int64      `bun:"credits_used,notnull"`
	Prefix          string     `bun:"prefix,notnull"`
	CallbackURL     string     `bun:"callback_url,notnull"`
	CallbackSecret  string     `bun:"callback_secret,notnull"`
	Message         string     `bun:"message,notnull"`
	CreatedAt       time.Time  `bun:"created_at,notnull,default:now()"`
	StartedAt       *time.Time `bun:"started_at"`
	FinishedAt      *time.Time `bun:"finished_at"`
}

// BatchRecord is one processed record of a batch: its results.jsonl line.
type BatchRecord struct {
	bun.BaseModel `bun:"table:batch_records"`

	OrgID       uuid.UUID       `bun:"org_id,pk,type:uuid"`
	BatchID     string          `bun:"batch_id,pk"`
	RecordID    string          `bun:"record_id,pk"`
	Seq         int             `bun:"seq,notnull"`
	Success     bool            `bun:"success,notnull"`
	CreditsUsed int64           `bun:"credits_used,notnull"`
	Line        json.RawMessage `bun:"line,type:json,notnull"`
	CreatedAt   time.Time       `bun:"created_at,notnull,default:now()"`
}

// BatchCharge is one step charged against a batch's reservation.
type BatchCharge struct {
	bun.BaseModel `bun:"table:batch_charges"`

	OrgID     uuid.UUID `bun:"org_id,pk,type:uuid"`
	BatchID   string    `bun:"batch_id,pk"`
	RecordID  string    `bun:"record_id,pk"`
	Step      string    `bun:"step,pk"`
	Service   string    `bun:"service,notnull"`
	Provider  string    `bun:"provider,notnull"`
	Amount    int64     `bun:"amount,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull,default:now()"`
}
