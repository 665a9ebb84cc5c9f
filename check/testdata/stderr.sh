#!/bin/sh
# Complains and fails.
echo "service is broken" >&2
exit 1
