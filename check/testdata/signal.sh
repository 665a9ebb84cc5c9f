#!/bin/sh
# Kills itself with SIGTERM.
kill -TERM $$
