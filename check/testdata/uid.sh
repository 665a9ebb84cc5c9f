#!/bin/sh
# Writes the effective uid to $1.
id -u > "$1"
