#!/bin/sh
# Records its process group in $1, leaves a background process holding
# stderr open, then exits with $2.
echo "$$" > "$1"
sleep 30 &
exit "$2"
