package crm

import (
	"strings"
)

// keys are the typed columns of a record, which the matching engine's candidate search and
// the list filters use.
type keys struct {
	Name, Domain, Email, Phone, City, PostalCode, OwnerID, AccountID, Birthdate string
}

// str reads the first non-empty string among fields.
func str(fields map[string]any, names ...string) string {
	for _, n := range names {
		if s, ok := fields[n].(string); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// keysOf extracts a record's typed columns.
func keysOf(object string, fields map[string]any, region string) keys {
	k := keys{OwnerID: str(fields, "OwnerId"), AccountID: str(fields, "AccountId")}
	mk := matchKeys(object, fields, region)
	k.Name, k.Domain, k.Email, k.Phone, k.Birthdate = mk.Name, mk.Domain, mk.Email, mk.Phone, mk.Birthdate
	switch object {
	case Account:
		k.City, k.PostalCode = str(fields, "BillingCity", "ShippingCity"), str(fields, "BillingPostalCode", "ShippingPostalCode")
	case Contact:
		k.City, k.PostalCode = str(fields, "MailingCity", "OtherCity"), str(fields, "MailingPostalCode", "OtherPostalCode")
	case Lead:
		k.City, k.PostalCode = str(fields, "City"), str(fields, "PostalCode")
	}
	k.City = strings.ToLower(k.City)
	return k
}

// normalizeFilter brings a filter value to the form its column stores.
func normalizeFilter(name, v, region string) string {
	switch name {
	case "domain":
		return matchKeys(Account, map[string]any{"Website": v}, region).Domain
	case "email":
		return strings.ToLower(strings.TrimSpace(v))
	case "phone":
		if p := matchKeys(Account, map[string]any{"Phone": v}, region).Phone; p != "" {
			return p
		}
	case "city":
		return strings.ToLower(strings.TrimSpace(v))
	}
	return strings.TrimSpace(v)
}
