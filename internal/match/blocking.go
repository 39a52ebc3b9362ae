package match

// SearchWord is the word of a company name that candidate search looks a name up by: its
// first distinctive word (not a generic word such as "Global" or "Systems", nor a stop word),
// normalised; the first word when every word is generic; "" for an empty name.
//
// Searching stored names by the trigrams of the whole name reads the index entries of every
// word in it, and the generic words and industries that thousands of companies share
// ("analytics", "semiconductors") cost 0.1-0.3 s a search at a million accounts. A company's
// distinctive word, usually its first (the brand), is rare: looking it up anywhere in stored
// names, allowing typos (pg_trgm word similarity), finds the same company written with other
// suffixes, other generic words, reordered words or a misspelling, in a few milliseconds; the
// whole name then ranks what it found.
func SearchWord(companyName string) string {
	c := prepareCompany(companyName)
	if c == nil || len(c.tokens) == 0 {
		return ""
	}
	for _, t := range c.tokens {
		if !isGeneric(t) && !nameStopwords[t] {
			return t
		}
	}
	return c.tokens[0]
}
