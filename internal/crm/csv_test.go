package crm

import (
	"io"
	"strings"
	"testing"
)

func TestCSVImportMapping(t *testing.T) {
	data := "\ufeffAccount ID,Company Name,billing city,Web,Annual Bonus,Owner__c\n" +
		"A-1,\"Acme, Inc.\",Palo Alto,acme.com,5,x\n" +
		"A-2,Globex,,globex.com,,\n"
	r, err := NewCSVReader(strings.NewReader(data), map[string]string{"Company Name": "Name", "Web": "Website"}, "Account ID")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Fields(), ","); got != ",Name,BillingCity,Website,Annual_Bonus__c,Owner__c" {
		t.Fatalf("fields %s", got)
	}
	batch, err := r.Next(10)
	if err != nil || len(batch) != 2 {
		t.Fatalf("%v %v", batch, err)
	}
	if batch[0].ExternalID != "A-1" || batch[0].Fields["Name"] != "Acme, Inc." || batch[0].Fields["Annual_Bonus__c"] != "5" {
		t.Fatalf("row 1 %+v", batch[0])
	}
	if _, ok := batch[1].Fields["BillingCity"]; ok {
		t.Fatal("an empty cell became a field")
	}
	if _, err := r.Next(10); err != io.EOF {
		t.Fatalf("after the last row: %v", err)
	}
	if _, err := NewCSVReader(strings.NewReader("a,b\n"), nil, "Id"); err == nil {
		t.Fatal("a missing external id column was accepted")
	}
}
