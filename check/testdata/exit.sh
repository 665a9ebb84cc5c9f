#!/bin/sh
# Exits with the status given as the first argument.
exit "$1"
