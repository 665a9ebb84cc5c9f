#!/bin/sh
# Starts a background sleeper, records both PIDs in $1, then sleeps.
sleep 30 &
echo "$!" > "$1"
echo "$$" >> "$1"
sleep 30
