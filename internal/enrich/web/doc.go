// Package web fetches public web pages safely and reads what a company says about itself on its
// own website.
//
// Fetcher.Get is a GET that is safe to point at URLs from untrusted input: only http and https;
// every connection goes to an address checked at dial time (no loopback, private, link-local,
// CGNAT, multicast or reserved ranges unless Config.AllowPrivate lists them), so neither a
// redirect nor DNS rebinding reaches internal services; at most Config.MaxRedirects redirects,
// each checked again; at most Config.MaxBytes of body; one Config.Timeout for the whole fetch;
// and robots.txt (RFC 9309) honoured for our User-Agent.
//
// Fetcher.Company reads a company's home, about and contact pages and returns what they state
// (JSON-LD, OpenGraph, meta tags, tel:/mailto: links, social profile links), each value with the
// page and method it came from, plus a verdict on whether the site is the company's. Extract
// does the same for one page already fetched.
//
// The package has no server, storage or workflow code; the enrichment engine wraps it.
package web
