#!/bin/sh
# Runs the example's tests and writes a JUnit XML report (the format every runner emits).
set -u
bin=$1; report=$2
pass=0; fail=0; cases=""
check() {
  name=$1; expected=$2; shift 2
  got=$("$@" 2>&1)
  if [ "$got" = "$expected" ]; then
    pass=$((pass + 1)); cases="$cases<testcase classname=\"hello\" name=\"$name\"/>"
  else
    fail=$((fail + 1)); cases="$cases<testcase classname=\"hello\" name=\"$name\"><failure message=\"expected '$expected', got '$got'\"/></testcase>"
  fi
}
check greets_the_world "hello, world" "$bin"
check greets_by_name "hello, zt" "$bin" zt
check prints_its_version "hello 1.0.0" "$bin" --version
total=$((pass + fail))
printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="%d" failures="%d"><testsuite name="hello" tests="%d" failures="%d">%s</testsuite></testsuites>\n' \
  "$total" "$fail" "$total" "$fail" "$cases" > "$report"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
