# Sourced by bench/secrets.sh and bench/secrets-ab.sh: the issuer's RSA key (PKCS#8 DER: ring
# reads that; genpkey's DER output is PKCS#1), GitHub-Actions-shaped claims, and N tokens minted
# by the loadgen example (each jti is exchangeable once).
# mint_tokens WORK N LOADGEN ISSUER
mint_tokens() {
  local work=$1 n=$2 loadgen=$3 iss=$4
  [ -f "$work/issuer.pk8" ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null \
      | openssl pkcs8 -topk8 -nocrypt -outform DER -out "$work/issuer.pk8"
  cat > "$work/claims.json" <<'JSON'
{"sub": "repo:org/app:ref:refs/heads/main", "repository": "org/app", "ref": "refs/heads/main",
 "workflow_ref": "org/app/.github/workflows/ci.yml@refs/heads/main",
 "job_workflow_ref": "org/app/.github/workflows/ci.yml@refs/heads/main", "event_name": "push",
 "environment": "production", "repository_owner": "org", "runner_environment": "github-hosted"}
JSON
  "$loadgen" mint --key "$work/issuer.pk8" --kid bench-1 --iss "$iss" --aud zt \
      --claims "$work/claims.json" --count "$n" --tokens "$work/tokens.txt" --jwks "$work/jwks.json"
}
