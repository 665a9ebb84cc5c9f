// Package bfd implements Bidirectional Forwarding Detection (RFC 5880) over
// single-hop (RFC 5881) and multi-hop (RFC 5883) UDP.
package bfd
