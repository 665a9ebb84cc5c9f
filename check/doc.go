// Package check provides health checkers (TCP, HTTP/HTTPS, SMTP, DNS, UDP,
// ICMP echo, script and file) and a scheduler with retries, rise and fall
// counts, as keepalived's checkers do.
package check
