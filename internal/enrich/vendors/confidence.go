package vendors

import "math"

// hunterCaps bound Hunter's score by what the verification found; see the package
// documentation for the reasoning. Unlisted statuses get the "unknown" cap.
var hunterCaps = map[string]float64{
	"valid":      0.95,
	"":           0.80,
	"webmail":    0.70,
	"accept_all": 0.60,
	"unknown":    0.50,
	"disposable": 0.20,
	"invalid":    0,
}

// HunterConfidence is min(score/100, cap(status)) on the engine's 0-1 scale.
func HunterConfidence(score int, status string) float64 {
	limit, ok := hunterCaps[status]
	if !ok {
		limit = hunterCaps["unknown"]
	}
	return math.Min(clamp01(float64(score)/100), limit)
}

// PDLConfidence is likelihood/10 on the engine's 0-1 scale.
func PDLConfidence(likelihood int) float64 {
	return clamp01(float64(likelihood) / 10)
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }
