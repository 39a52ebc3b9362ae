// Package crm is the CRM port: one interface (Store) for reading and writing Accounts,
// Contacts, Leads, Opportunities and Users, whether they live in Lantern's own Postgres store
// (Local, the default) or in Salesforce. Records carry their fields under their Salesforce API
// names, and ids are 18-character Salesforce-style ids with the real key prefixes.
package crm

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/lanternhq/lantern/internal/apperr"
)

// Objects.
const (
	Account     = "Account"
	Contact     = "Contact"
	Lead        = "Lead"
	Opportunity = "Opportunity"
	User        = "User"
)

// Objects lists every object the store holds.
var Objects = []string{Account, Contact, Lead, Opportunity, User}

// required are the fields Salesforce requires on create.
var required = map[string][]string{
	Account:     {"Name"},
	Contact:     {"LastName"},
	Lead:        {"LastName", "Company"},
	Opportunity: {"Name", "StageName", "CloseDate"},
	User:        {"LastName", "Email"},
}

// Record is one CRM record.
type Record struct {
	ID             string         `json:"id" doc:"18-character Salesforce-style id"`
	Object         string         `json:"object" enum:"Account,Contact,Lead,Opportunity,User"`
	ExternalID     string         `json:"external_id,omitempty" doc:"Your id for the record, for upserts"`
	Fields         map[string]any `json:"fields" doc:"Field values by Salesforce API name, e.g. Name, Website, Email, OwnerId"`
	Version        int64          `json:"version" doc:"Rises by one on every change; send it back in If-Match to update safely"`
	CreatedAt      time.Time      `json:"created_at"`
	LastModifiedAt time.Time      `json:"last_modified_at"`
}

// Str is a field's value as a string ("" when absent or not a string).
func (r *Record) Str(field string) string {
	s, _ := r.Fields[field].(string)
	return s
}

// Input is a record to create or upsert.
type Input struct {
	ExternalID string
	Fields     map[string]any
}

// Query lists records of one object, in id order, a page at a time.
type Query struct {
	Object  string
	Filters map[string]string // typed filters: domain, email, phone, owner_id, account_id, city, postal_code, name
	After   string            // the last id of the previous page
	Limit   int
	Since   time.Time // only records modified at or after
}

// Page is one page of a query; Next is empty on the last page.
type Page struct {
	Records []Record
	Next    string
}

// UpsertResult is one record of a bulk upsert.
type UpsertResult struct {
	Record  *Record
	Created bool
	Err     error
}

// Store is the CRM port.
type Store interface {
	Get(ctx context.Context, org uuid.UUID, object, id string) (*Record, error)
	Query(ctx context.Context, org uuid.UUID, q Query) (Page, error)
	Create(ctx context.Context, org uuid.UUID, object string, in Input) (*Record, error)
	// Upsert creates the record with in.ExternalID, or updates the one that has it.
	Upsert(ctx context.Context, org uuid.UUID, object string, in Input) (*Record, bool, error)
	// Update changes the given fields (nil deletes one); with ifVersion > 0, only if the
	// record is still at that version.
	Update(ctx context.Context, org uuid.UUID, object, id string, fields map[string]any, ifVersion int64) (*Record, error)
	Delete(ctx context.Context, org uuid.UUID, object, id string) error
	BulkUpsert(ctx context.Context, org uuid.UUID, object string, ins []Input) ([]UpsertResult, error)
}

// IsFieldName: a letter, then up to 79 letters, digits or underscores (Salesforce API names).
func IsFieldName(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '_')) {
			return false
		}
	}
	return true
}

// readOnly are fields the store sets itself.
var readOnly = map[string]bool{"Id": true, "CreatedDate": true, "LastModifiedDate": true, "SystemModstamp": true, "IsDeleted": true}

// CheckObject refuses an object the store does not hold.
func CheckObject(object string) error {
	for _, o := range Objects {
		if o == object {
			return nil
		}
	}
	return apperr.Field("path.object", "must be one of Account, Contact, Lead, Opportunity, User")
}

// checkFields refuses malformed field names, values that are not JSON scalars, read-only
// fields and, on create, missing required fields. prefix names the input in errors.
func checkFields(object string, fields map[string]any, creating bool, prefix string) error {
	for k, v := range fields {
		if !IsFieldName(k) {
			return apperr.Field(prefix+"."+k, "is not a field name (letters, digits and _, starting with a letter)")
		}
		if readOnly[k] {
			return apperr.Field(prefix+"."+k, "is set by the store and cannot be written")
		}
		switch v.(type) {
		case nil, string, bool, float64, int, int64:
		default:
			return apperr.Field(prefix+"."+k, "must be a string, number, boolean or null")
		}
		if s, ok := v.(string); ok && len(s) > 32768 {
			return apperr.Field(prefix+"."+k, "is longer than 32,768 characters")
		}
	}
	if creating {
		for _, f := range required[object] {
			if s, ok := fields[f].(string); !ok || s == "" {
				return apperr.Field(prefix+"."+f, "is required for a new %s", object)
			}
		}
	}
	for _, ref := range []string{"OwnerId", "AccountId", "ConvertedAccountId", "ConvertedContactId"} {
		if s, ok := fields[ref].(string); ok && s != "" {
			if _, ok := To18(s); !ok {
				return apperr.Field(prefix+"."+ref, "%q is not a Salesforce id", s)
			}
		}
	}
	return nil
}

// ActiveUser makes sure id is an active User of the org's CRM and returns its 18-character id;
// field names the input in errors.
func ActiveUser(ctx context.Context, st Store, org uuid.UUID, id, field string) (string, error) {
	id18, ok := To18(id)
	if !ok || ObjectOf(id18) != User {
		return "", apperr.Field(field, "%q is not a User id (User ids start with 005)", id)
	}
	u, err := st.Get(ctx, org, User, id18)
	if apperr.Is(err, apperr.NotFound) {
		return "", apperr.Field(field, "no User %s in the CRM", id)
	}
	if err != nil {
		return "", err
	}
	if active, ok := u.Fields["IsActive"].(bool); ok && !active {
		return "", apperr.Field(field, "User %s is inactive in the CRM", id)
	}
	return id18, nil
}
