package crm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/google/uuid"
)

// Demo is a small CRM with the duplicates real ones have: the same company under several
// spellings, the same person as Bob and Robert, leads that are already contacts. External ids
// are fixed, so seeding it twice changes nothing.
type Demo struct {
	Users, Accounts, Contacts, Leads []Input
}

var demoCompanies = []struct{ name, domain, city, zip, phone string }{
	{"Acme Robotics", "acme-robotics.com", "Palo Alto", "94301", "+1 650 555 0100"},
	{"Globex Corporation", "globex.com", "Springfield", "62701", "+1 217 555 0101"},
	{"Initech", "initech.com", "Austin", "73301", "+1 512 555 0102"},
	{"Umbrella Health", "umbrellahealth.com", "Raccoon City", "80201", "+1 303 555 0103"},
	{"Stark Industries", "starkindustries.com", "New York", "10001", "+1 212 555 0104"},
	{"Wayne Enterprises", "wayne-enterprises.com", "Gotham", "07001", "+1 973 555 0105"},
	{"Hooli", "hooli.com", "Mountain View", "94043", "+1 650 555 0106"},
	{"Pied Piper", "piedpiper.com", "Palo Alto", "94301", "+1 650 555 0107"},
	{"Vandelay Industries", "vandelay.com", "New York", "10002", "+1 212 555 0108"},
	{"Soylent Foods", "soylent.com", "Los Angeles", "90001", "+1 213 555 0109"},
	{"Tyrell Systems", "tyrell.io", "Los Angeles", "90002", "+1 213 555 0110"},
	{"Cyberdyne Systems", "cyberdyne.com", "Sunnyvale", "94085", "+1 408 555 0111"},
	{"Wonka Confectionery", "wonka.co.uk", "London", "EC1A 1BB", "+44 20 7946 0112"},
	{"Oceanic Airlines", "oceanic-air.com", "Sydney", "2000", "+61 2 5550 0113"},
	{"Nakatomi Trading", "nakatomi.jp", "Tokyo", "100-0001", "+81 3 5555 0114"},
	{"Blue Sun Logistics", "bluesun.com", "Houston", "77001", "+1 713 555 0115"},
	{"Massive Dynamic", "massivedynamic.com", "Boston", "02108", "+1 617 555 0116"},
	{"Virtucon", "virtucon.com", "Chicago", "60601", "+1 312 555 0117"},
	{"Gringotts Finance", "gringotts.co.uk", "London", "WC2N 5DU", "+44 20 7946 0118"},
	{"Aperture Science", "aperturescience.com", "Cleveland", "44101", "+1 216 555 0119"},
	{"Black Mesa Research", "blackmesa.org", "Albuquerque", "87101", "+1 505 555 0120"},
	{"Monarch Solutions", "monarch-solutions.de", "Berlin", "10115", "+49 30 5550 0121"},
	{"Rekall Travel", "rekall.com", "Denver", "80202", "+1 303 555 0122"},
	{"Octan Energy", "octan.nl", "Amsterdam", "1011", "+31 20 555 0123"},
	{"Duff Brewing", "duff.com", "Springfield", "62702", "+1 217 555 0124"},
	{"Sirius Cybernetics", "sirius-cyber.com", "Seattle", "98101", "+1 206 555 0125"},
	{"Weyland Yutani", "weyland.com", "San Francisco", "94105", "+1 415 555 0126"},
	{"Oscorp", "oscorp.com", "New York", "10003", "+1 212 555 0127"},
	{"Dunder Mifflin Paper", "dundermifflin.com", "Scranton", "18503", "+1 570 555 0128"},
	{"Prestige Worldwide", "prestigeworldwide.com", "Los Angeles", "90003", "+1 213 555 0129"},
}

// How a company's name turns up again in a CRM.
var nameVariants = []func(string) string{
	func(n string) string { return n + ", Inc." },
	func(n string) string { return strings.ToUpper(n) },
	func(n string) string { return "The " + n + " Company" },
	func(n string) string { return n + " LLC" },
	func(n string) string { return strings.ReplaceAll(n, " ", "") },
	func(n string) string { return n + " Corp" },
}

var demoPeople = []struct{ first, nick, last string }{
	{"Robert", "Bob", "Smith"}, {"William", "Bill", "Johnson"}, {"Elizabeth", "Liz", "Williams"}, {"Margaret", "Peggy", "Brown"},
	{"Richard", "Dick", "Jones"}, {"James", "Jim", "Garcia"}, {"Katherine", "Kate", "Miller"}, {"Michael", "Mike", "Davis"},
	{"Jennifer", "Jen", "Rodriguez"}, {"Christopher", "Chris", "Martinez"}, {"Patricia", "Pat", "Hernandez"}, {"Daniel", "Dan", "Lopez"},
	{"Susan", "Sue", "Gonzalez"}, {"Thomas", "Tom", "Wilson"}, {"Jessica", "Jess", "Anderson"}, {"Joseph", "Joe", "Thomas"},
	{"Sarah", "Sally", "Taylor"}, {"Charles", "Chuck", "Moore"}, {"Deborah", "Debbie", "Jackson"}, {"Anthony", "Tony", "Martin"},
	{"Rebecca", "Becky", "Lee"}, {"Matthew", "Matt", "Perez"}, {"Victoria", "Vicky", "Thompson"}, {"Andrew", "Andy", "White"},
	{"Samantha", "Sam", "Harris"}, {"Nicholas", "Nick", "Sanchez"}, {"Alexandra", "Alex", "Clark"}, {"Jonathan", "Jon", "Ramirez"},
	{"Kimberly", "Kim", "Lewis"}, {"Benjamin", "Ben", "Robinson"}, {"José", "Pepe", "Núñez"}, {"François", "Frank", "Dubois"},
}

var demoTitles = []string{"VP Sales", "Head of RevOps", "CTO", "Marketing Manager", "Procurement Lead", "CFO", "Director of IT", "Account Executive"}

// generatedCompanies adds plain companies to the named ones, so the demo has a few hundred.
func generatedCompanies() []struct{ name, domain, city, zip, phone string } {
	firsts := []string{"Northwind", "Bluebird", "Granite", "Silverline", "Evergreen", "Redwood", "Lakeside", "Summit", "Harbor", "Falcon", "Juniper", "Meridian"}
	seconds := []string{"Analytics", "Logistics", "Software", "Health", "Capital", "Foods", "Energy", "Media", "Labs", "Security"}
	cities := []struct{ city, zip, area string }{{"Chicago", "60602", "312"}, {"Denver", "80203", "303"}, {"Atlanta", "30303", "404"}, {"Miami", "33101", "305"}, {"Portland", "97201", "503"}}
	var out []struct{ name, domain, city, zip, phone string }
	for i, f := range firsts {
		for j, sc := range seconds {
			if (i+j)%3 != 0 {
				continue
			}
			c := cities[(i+j)%len(cities)]
			out = append(out, struct{ name, domain, city, zip, phone string }{f + " " + sc, strings.ToLower(f+sc) + ".com", c.city, c.zip,
				fmt.Sprintf("+1 %s 555 %04d", c.area, 200+i*10+j)})
		}
	}
	return out
}

// DemoCRM builds the demo CRM. Users come first: accounts and contacts are owned by them.
func DemoCRM() Demo {
	rng := rand.New(rand.NewPCG(42, 7))
	var d Demo
	var owners []string
	for i, u := range []struct{ first, last string }{{"Avery", "Chen"}, {"Jordan", "Patel"}, {"Riley", "Okafor"}, {"Morgan", "Silva"},
		{"Casey", "Novak"}, {"Quinn", "Haddad"}, {"Taylor", "Kim"}, {"Drew", "Larsen"}} {
		d.Users = append(d.Users, Input{ExternalID: fmt.Sprintf("demo-user-%d", i), Fields: map[string]any{
			"FirstName": u.first, "LastName": u.last, "Email": strings.ToLower(u.first+"."+u.last) + "@lantern-demo.com",
			"Username": strings.ToLower(u.first+"."+u.last) + "@lantern-demo.com", "IsActive": i != 7}})
		owners = append(owners, fmt.Sprintf("demo-user-%d", i))
	}
	for i, c := range append(demoCompanies[:len(demoCompanies):len(demoCompanies)], generatedCompanies()...) {
		fields := map[string]any{"Name": c.name, "Website": "https://www." + c.domain, "Phone": c.phone,
			"BillingCity": c.city, "BillingPostalCode": c.zip, "OwnerExternalId": owners[i%len(owners)]}
		d.Accounts = append(d.Accounts, Input{ExternalID: fmt.Sprintf("demo-acct-%d", i), Fields: fields})
		// Every third company is in the CRM again under another spelling, some without a website.
		if i%3 == 0 {
			dup := map[string]any{"Name": nameVariants[i%len(nameVariants)](c.name), "Phone": c.phone, "BillingCity": c.city,
				"BillingPostalCode": c.zip, "OwnerExternalId": owners[(i+1)%len(owners)]}
			if i%2 == 0 {
				dup["Website"] = c.domain
			}
			d.Accounts = append(d.Accounts, Input{ExternalID: fmt.Sprintf("demo-acct-%d-dup", i), Fields: dup})
		}
		// Three to six people per company.
		for j := 0; j < 3+rng.IntN(4); j++ {
			p := demoPeople[(i*7+j*3)%len(demoPeople)]
			email := strings.ToLower(asciiFold(p.first)+"."+asciiFold(p.last)) + "@" + c.domain
			contact := map[string]any{"FirstName": p.first, "LastName": p.last, "Email": email, "Title": demoTitles[(i+j)%len(demoTitles)],
				"Phone": c.phone, "MailingCity": c.city, "AccountExternalId": fmt.Sprintf("demo-acct-%d", i), "OwnerExternalId": owners[i%len(owners)]}
			d.Contacts = append(d.Contacts, Input{ExternalID: fmt.Sprintf("demo-contact-%d-%d", i, j), Fields: contact})
			switch (i + j) % 9 {
			case 0: // the same person entered again with a nickname and a capitalised email
				d.Contacts = append(d.Contacts, Input{ExternalID: fmt.Sprintf("demo-contact-%d-%d-dup", i, j), Fields: map[string]any{
					"FirstName": p.nick, "LastName": p.last, "Email": strings.ToUpper(email[:1]) + email[1:], "MailingCity": c.city,
					"AccountExternalId": fmt.Sprintf("demo-acct-%d", i), "OwnerExternalId": owners[(i+2)%len(owners)]}})
			case 4: // a web-form lead for someone who is already a contact
				d.Leads = append(d.Leads, Input{ExternalID: fmt.Sprintf("demo-lead-%d-%d", i, j), Fields: map[string]any{
					"FirstName": p.nick, "LastName": p.last, "Email": email, "Company": nameVariants[j%len(nameVariants)](c.name),
					"City": c.city, "LeadSource": "Web", "Status": "Open - Not Contacted"}})
			}
		}
		// New leads at the company, a few of them twice.
		for j := 0; j < 2; j++ {
			first, last := demoPeople[(i*5+j+11)%len(demoPeople)].first, fmt.Sprintf("Newman%d", i*2+j)
			lead := map[string]any{"FirstName": first, "LastName": last, "Company": c.name, "City": c.city, "Website": c.domain,
				"Email": strings.ToLower(asciiFold(first)) + "." + strings.ToLower(last) + "@" + c.domain, "LeadSource": "Event", "Status": "Open - Not Contacted"}
			d.Leads = append(d.Leads, Input{ExternalID: fmt.Sprintf("demo-newlead-%d-%d", i, j), Fields: lead})
			if (i+j)%4 == 0 {
				dup := map[string]any{"FirstName": first[:1] + ".", "LastName": last, "Company": strings.ToUpper(c.name), "Email": lead["Email"],
					"LeadSource": "Webinar", "Status": "Open - Not Contacted"}
				d.Leads = append(d.Leads, Input{ExternalID: fmt.Sprintf("demo-newlead-%d-%d-dup", i, j), Fields: dup})
			}
		}
	}
	return d
}

func asciiFold(s string) string {
	r := strings.NewReplacer("é", "e", "ú", "u", "ñ", "n", "ç", "c", "á", "a", "í", "i", "ó", "o", "É", "E", "Ñ", "N")
	return r.Replace(s)
}

// SeedDemo writes the demo CRM into an org (upserting by external id, so a second run changes
// nothing) and returns how many records of each object it holds.
func SeedDemo(ctx context.Context, s Store, org uuid.UUID) (map[string]int, error) {
	d := DemoCRM()
	ids := map[string]string{} // external id -> record id
	counts := map[string]int{}
	for _, step := range []struct {
		object string
		ins    []Input
	}{{User, d.Users}, {Account, d.Accounts}, {Contact, d.Contacts}, {Lead, d.Leads}} {
		for start := 0; start < len(step.ins); start += MaxBulk {
			batch := step.ins[start:min(start+MaxBulk, len(step.ins))]
			for _, in := range batch {
				for ref, field := range map[string]string{"OwnerExternalId": "OwnerId", "AccountExternalId": "AccountId"} {
					if ext, ok := in.Fields[ref].(string); ok {
						delete(in.Fields, ref)
						if id := ids[ext]; id != "" {
							in.Fields[field] = id
						}
					}
				}
			}
			res, err := s.BulkUpsert(ctx, org, step.object, batch)
			if err != nil {
				return nil, err
			}
			for i, r := range res {
				if r.Err != nil {
					return nil, fmt.Errorf("demo %s %s: %w", step.object, batch[i].ExternalID, r.Err)
				}
				ids[batch[i].ExternalID] = r.Record.ID
			}
			counts[step.object] += len(res)
		}
	}
	return counts, nil
}
