#!/bin/bash
pass "ok" "ok"
