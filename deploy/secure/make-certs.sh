#!/usr/bin/env bash
# Writes the secure cluster's certificates with openssl, under
# deploy/secure/certs/ (git ignores it), or under the directory given:
#
#   deploy/secure/make-certs.sh [DIR] [--force]
#
#   ca.pem, ca.key            the cluster's certificate authority
#   node1.pem .. node4.pem    each node's chain + private key (the keystore:
#                             ssl.keystore.location), CN=nodeN, SAN
#                             DNS:localhost, IP:127.0.0.1
#   admin.pem, alice.pem, bob.pem
#                             client certificates (chain + key), CN=<name>
#   expired.pem               a client certificate (CN=mallory) that expired
#   untrusted.pem             a client certificate (CN=alice) from another CA
#   node1-encrypted.pem       node 1's key encrypted with the password
#                             "node1-key-secret" (ssl.key.password), for tests
#
# Principals: the listeners map a certificate's DN with
# ssl.principal.mapping.rules=RULE:^CN=([^,]+)(,.*)?$/$1/,DEFAULT (the DN in RFC 2253
# form is "CN=alice,O=Strata"), so
# CN=alice is User:alice, CN=node1 is User:node1.
#
# Existing certificates are kept unless --force; keys are RSA 2048,
# certificates valid for 825 days (the expired one: a day that has passed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/certs"
force=0
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    -*) echo "make-certs.sh: unknown option $a" >&2; exit 2 ;;
    *) out=$a ;;
  esac
done
mkdir -p "$out"
cd "$out"
if [ -f ca.pem ] && [ "$force" = 0 ]; then
  echo "certificates already in $out (use --force to make new ones)"
  exit 0
fi
command -v openssl >/dev/null || { echo "make-certs.sh: openssl is missing (apt-get install openssl)" >&2; exit 1; }
umask 077
days=825

openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days "$days" \
  -subj "/O=Strata/CN=Strata Local CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

# issue NAME SUBJECT EXTFILE-CONTENT [openssl x509 date options...]
issue() {
  local name=$1 subject=$2 ext=$3
  shift 3
  openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subject" 2>/dev/null
  printf '%s\n' "$ext" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA "${CA:-ca}.pem" -CAkey "${CA:-ca}.key" -CAcreateserial \
    -out "$name.crt" -extfile "$name.ext" "$@" 2>/dev/null
  cat "$name.crt" "$name.key" >"$name.pem"
  rm -f "$name.csr" "$name.ext" "$name.crt" "$name.key"
}

server_ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
client_ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

for n in 1 2 3 4; do issue "node$n" "/O=Strata/CN=node$n" "$server_ext" -days "$days"; done
for u in admin alice bob; do issue "$u" "/O=Strata/CN=$u" "$client_ext" -days "$days"; done

# Expired: signed with a validity that ended yesterday (openssl x509 cannot
# back-date, so `openssl ca` with explicit dates does it).
openssl req -newkey rsa:2048 -nodes -keyout expired.key -out expired.csr \
  -subj "/O=Strata/CN=mallory" 2>/dev/null
mkdir -p ca-db && : >ca-db/index.txt && echo 1000 >ca-db/serial
cat >ca-db/ca.cnf <<CNF
[ca]
default_ca=local
[local]
dir=$out/ca-db
database=\$dir/index.txt
serial=\$dir/serial
new_certs_dir=\$dir
certificate=$out/ca.pem
private_key=$out/ca.key
default_md=sha256
policy=any
unique_subject=no
[any]
commonName=supplied
organizationName=optional
[ext]
basicConstraints=CA:FALSE
extendedKeyUsage=clientAuth
CNF
start=$(date -u -d '-3 days' +%Y%m%d%H%M%SZ)
end=$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)
openssl ca -batch -config ca-db/ca.cnf -in expired.csr -out expired.crt -startdate "$start" \
  -enddate "$end" -extensions ext -notext 2>/dev/null
cat expired.crt expired.key >expired.pem
rm -rf expired.csr expired.crt expired.key ca-db

# Untrusted: the same name as alice, from a CA the cluster does not know.
openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days "$days" \
  -subj "/CN=Other CA" -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
CA=other-ca issue untrusted "/O=Strata/CN=alice" "$client_ext" -days "$days"
rm -f other-ca.key other-ca.srl

# Node 1's key encrypted (PKCS#8, AES-256), for ssl.key.password.
openssl x509 -in node1.pem -out node1.crt
openssl pkey -in node1.pem -out node1.key
openssl pkcs8 -topk8 -v2 aes-256-cbc -in node1.key -passout pass:node1-key-secret -out node1-enc.key
cat node1.crt node1-enc.key >node1-encrypted.pem
rm -f node1.crt node1.key node1-enc.key ca.srl

chmod 600 ./*.pem ca.key
chmod 644 ca.pem
echo "certificates written to $out: $(ls "$out" | tr '\n' ' ')"
