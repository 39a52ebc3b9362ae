package crm

import (
	"context"

	"github.com/google/uuid"
)

// LeadConvert is one lead conversion, shaped like Salesforce's SOAP convertLead LeadConvert.
type LeadConvert struct {
	LeadID string
	// AccountID attaches the lead to an existing account; "" creates one from the lead.
	AccountID string
	// ContactID merges the lead into an existing contact (of AccountID); "" creates one.
	ContactID string
	// OwnerID owns the records the conversion creates; "" keeps the lead's owner.
	OwnerID string
	// ConvertedStatus is the lead Status to set, e.g. "Closed - Converted".
	ConvertedStatus string
	// DoNotCreateOpportunity skips the opportunity; otherwise OpportunityName names it
	// ("" uses the lead's Company).
	DoNotCreateOpportunity bool
	OpportunityName        string
}

// LeadConvertResult is what a conversion produced (OpportunityID is "" when none was created).
type LeadConvertResult struct {
	LeadID, AccountID, ContactID, OpportunityID string
}

// MergeRequest merges duplicates into a master of the same object, as Salesforce's SOAP merge:
// MasterFields are written on the master, children of the duplicates are re-parented to it,
// and the duplicates are deleted.
type MergeRequest struct {
	Object       string // Account, Contact or Lead
	MasterID     string
	DuplicateIDs []string
	MasterFields map[string]any
}

// MergeResult lists the merged (deleted) ids and the children that were re-parented.
type MergeResult struct {
	MasterID          string
	MergedIDs         []string
	UpdatedRelatedIDs []string
}

// Converter is the part of the CRM port that converts leads and merges records. The local store
// and the Salesforce adapter both implement it.
type Converter interface {
	ConvertLead(ctx context.Context, org uuid.UUID, in LeadConvert) (*LeadConvertResult, error)
	Merge(ctx context.Context, org uuid.UUID, in MergeRequest) (*MergeResult, error)
	// Undelete restores deleted records (a merge's losers) with their ids.
	Undelete(ctx context.Context, org uuid.UUID, object string, ids []string) error
}
