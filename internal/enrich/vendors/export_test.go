package vendors

import (
	"context"
	"time"
)

// SetHunterSleep and SetPDLSleep replace the retry wait so tests neither sleep nor guess.
func SetHunterSleep(h *Hunter, f func(context.Context, time.Duration) error) { h.t.Sleep = f }
func SetPDLSleep(p *PDL, f func(context.Context, time.Duration) error)       { p.t.Sleep = f }

// Parsers, for the fuzz target.
var (
	ParseHunterFinder   = parseHunterFinder
	ParseHunterVerifier = parseHunterVerifier
	ParseHunterError    = parseHunterError
	ParsePDLPerson      = parsePDLPerson
	ParsePDLCompany     = parsePDLCompany
	ParsePDLError       = parsePDLError
)
