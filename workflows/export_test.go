package workflows

// PickPages exposes the page choice of research to the tests.
var PickPages = pickPages
