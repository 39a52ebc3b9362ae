package main

import "crypto/tls"

// tlsConfig is the TLS for Temporal Cloud and other TLS frontends: system roots, TLS 1.2+.
func tlsConfig() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS12} }
