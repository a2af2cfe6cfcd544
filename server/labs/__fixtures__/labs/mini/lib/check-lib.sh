#!/bin/bash
# mini check lib (tests): the result helpers of the real course's lib
hint() { printf 'HINT[de]: %s\nHINT[en]: %s\n' "$1" "${2:-$1}"; }
pass() { printf 'PASS[de]: %s\nPASS[en]: %s\n' "$1" "${2:-$1}"; exit 0; }
fail() { printf 'FAIL[de]: %s\nFAIL[en]: %s\n' "$1" "${2:-$1}"; exit 1; }
