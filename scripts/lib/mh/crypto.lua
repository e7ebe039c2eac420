-- mh.crypto: MD5 (RFC 1321), SHA-256 (FIPS 180-4), HMAC (RFC 2104), PBKDF2 (RFC 8018 5.2)
-- and the SASL client computations built on them: CRAM-MD5 (RFC 2195) and SCRAM-SHA-256
-- (RFC 5802, RFC 7677). Pure Lua 5.4 (64-bit integers, 32-bit words masked), because the
-- sandbox has no hash functions and loads no C modules. Not constant-time: a test tool's
-- client side, never a place to keep secrets.
--
-- Known-answer tests (run by selftest(); the SASL cases call it first, so a broken
-- implementation ends the case in ERROR and never reads as a server failure):
--   RFC 1321 A.5:  MD5("")    = d41d8cd98f00b204e9800998ecf8427e
--                  MD5("a")   = 0cc175b9c0f1b6a831c399e269772661
--                  MD5("abc") = 900150983cd24fb0d6963f7d28e17f72
--                  MD5("message digest") = f96b697d7cb7938d525a2f31aaf161d0
--                  MD5("abcdefghijklmnopqrstuvwxyz") = c3fcd3d76192e4007dfb496cca67e13b
--                  MD5("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
--                      = d174ab98d277d9f5a5611c2c9f419d9f
--                  MD5("1234567890" x 8) = 57edf4a22be3c955ac49da2e2107b67a
--   FIPS 180-4 (NIST examples):
--                  SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
--                  SHA-256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
--                      = 248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1
--                  SHA-256("") = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
--   RFC 2195 2:    user "tim", password "tanstaaftanstaaf",
--                  challenge "<1896.697170952@postoffice.reston.mci.net>"
--                  -> "tim b913a602c7eda7a495b4e6e7334d3890"
--   RFC 7677 3:    SCRAM-SHA-256, user "user", password "pencil", client nonce
--                  "rOprNGfwEbeRWgbNEkqO", server-first-message
--                  "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
--                  -> client-final "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,
--                     p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
--                     server signature "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
--                  (these values were also recomputed with Python's hashlib/hmac when this
--                  file was written).
local base64 = require("mh.base64")

local M = {}

local MASK = 0xffffffff

local function rol(x, n)
  return ((x << n) | (x >> (32 - n))) & MASK
end

local function ror(x, n)
  return ((x >> n) | (x << (32 - n))) & MASK
end

-- hex(s) -> lower-case hex digits of the octets of s
function M.hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- xor(a, b) -> octet-wise XOR of two strings of the same length
function M.xor(a, b)
  assert(#a == #b, "xor: lengths differ")
  local out = {}
  for i = 1, #a do
    out[i] = string.char(a:byte(i) ~ b:byte(i))
  end
  return table.concat(out)
end

---------------------------------------------------------------------------------------------
-- MD5 (RFC 1321)

local md5_K, md5_S = {}, {
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
}
for i = 0, 63 do
  -- RFC 1321 3.4: T[i] = floor(4294967296 * abs(sin(i))), i = 1..64
  md5_K[i + 1] = math.floor(math.abs(math.sin(i + 1)) * 4294967296) & MASK
end

local function md5_block(st, s, off)
  local X = {}
  for i = 0, 15 do
    X[i] = string.unpack("<I4", s, off + 4 * i)
  end
  local a, b, c, d = st[1], st[2], st[3], st[4]
  for i = 0, 63 do
    local f, g
    if i < 16 then
      f, g = (b & c) | (~b & d), i
    elseif i < 32 then
      f, g = (b & d) | (c & ~d), (5 * i + 1) % 16
    elseif i < 48 then
      f, g = b ~ c ~ d, (3 * i + 5) % 16
    else
      f, g = c ~ (b | ~d), (7 * i) % 16
    end
    f = (f + a + md5_K[i + 1] + X[g]) & MASK
    a, d, c = d, c, b
    b = (b + rol(f & MASK, md5_S[i + 1])) & MASK
  end
  st[1] = (st[1] + a) & MASK
  st[2] = (st[2] + b) & MASK
  st[3] = (st[3] + c) & MASK
  st[4] = (st[4] + d) & MASK
end

-- md5(s) -> the 16-octet digest
function M.md5(s)
  local len = #s
  local padded = s .. "\128" .. string.rep("\0", (55 - len) % 64) .. string.pack("<I8", len * 8)
  local st = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476 }
  for off = 1, #padded, 64 do
    md5_block(st, padded, off)
  end
  return string.pack("<I4I4I4I4", st[1], st[2], st[3], st[4])
end

---------------------------------------------------------------------------------------------
-- SHA-256 (FIPS 180-4 6.2)

local sha_K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

local SHA256_IV = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c,
  0x1f83d9ab, 0x5be0cd19 }

local W = {}
local function sha256_block(st, s, off)
  for i = 0, 15 do
    W[i] = string.unpack(">I4", s, off + 4 * i)
  end
  for i = 16, 63 do
    local w15, w2 = W[i - 15], W[i - 2]
    local s0 = ror(w15, 7) ~ ror(w15, 18) ~ (w15 >> 3)
    local s1 = ror(w2, 17) ~ ror(w2, 19) ~ (w2 >> 10)
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) & MASK
  end
  local a, b, c, d, e, f, g, h = st[1], st[2], st[3], st[4], st[5], st[6], st[7], st[8]
  for i = 0, 63 do
    local S1 = ror(e, 6) ~ ror(e, 11) ~ ror(e, 25)
    local ch = (e & f) ~ (~e & g)
    local t1 = (h + S1 + ch + sha_K[i + 1] + W[i]) & MASK
    local S0 = ror(a, 2) ~ ror(a, 13) ~ ror(a, 22)
    local maj = (a & b) ~ (a & c) ~ (b & c)
    local t2 = (S0 + maj) & MASK
    h, g, f, e, d, c, b, a = g, f, e, (d + t1) & MASK, c, b, a, (t1 + t2) & MASK
  end
  st[1] = (st[1] + a) & MASK
  st[2] = (st[2] + b) & MASK
  st[3] = (st[3] + c) & MASK
  st[4] = (st[4] + d) & MASK
  st[5] = (st[5] + e) & MASK
  st[6] = (st[6] + f) & MASK
  st[7] = (st[7] + g) & MASK
  st[8] = (st[8] + h) & MASK
end

local function sha256_pad(prefix_len, s)
  local len = prefix_len + #s
  return s .. "\128" .. string.rep("\0", (55 - len) % 64) .. string.pack(">I8", len * 8)
end

local function sha256_from(st0, prefix_len, s)
  local st = { table.unpack(st0) }
  local padded = sha256_pad(prefix_len, s)
  for off = 1, #padded, 64 do
    sha256_block(st, padded, off)
  end
  return string.pack(">I4I4I4I4I4I4I4I4", table.unpack(st))
end

-- sha256(s) -> the 32-octet digest
function M.sha256(s)
  return sha256_from(SHA256_IV, 0, s)
end

---------------------------------------------------------------------------------------------
-- HMAC (RFC 2104): H((K ^ opad) || H((K ^ ipad) || text)), block size 64 for MD5 and SHA-256

local function hmac_keys(hash, key)
  if #key > 64 then key = hash(key) end
  key = key .. string.rep("\0", 64 - #key)
  local ipad, opad = {}, {}
  for i = 1, 64 do
    local b = key:byte(i)
    ipad[i] = string.char(b ~ 0x36)
    opad[i] = string.char(b ~ 0x5c)
  end
  return table.concat(ipad), table.concat(opad)
end

function M.hmac_md5(key, text)
  local ipad, opad = hmac_keys(M.md5, key)
  return M.md5(opad .. M.md5(ipad .. text))
end

function M.hmac_sha256(key, text)
  local ipad, opad = hmac_keys(M.sha256, key)
  return M.sha256(opad .. M.sha256(ipad .. text))
end

-- An HMAC-SHA-256 with a fixed key whose padded-key blocks are compressed once, for PBKDF2's
-- thousands of iterations (the result is the same as hmac_sha256(key, text)).
local function hmac_sha256_prepared(key)
  local ipad, opad = hmac_keys(M.sha256, key)
  local ist = { table.unpack(SHA256_IV) }
  sha256_block(ist, ipad, 1)
  local ost = { table.unpack(SHA256_IV) }
  sha256_block(ost, opad, 1)
  return function(text)
    return sha256_from(ost, 64, sha256_from(ist, 64, text))
  end
end

-- pbkdf2_sha256(password, salt, iterations [, dklen]) -> derived key (RFC 8018 5.2 with
-- HMAC-SHA-256). SCRAM's Hi(str, salt, i) is this with dklen 32 (RFC 5802 2.2).
function M.pbkdf2_sha256(password, salt, iterations, dklen)
  dklen = dklen or 32
  local prf = hmac_sha256_prepared(password)
  local out = {}
  local blocks = (dklen + 31) // 32
  for b = 1, blocks do
    local u = prf(salt .. string.pack(">I4", b))
    local acc = { string.unpack(">I4I4I4I4I4I4I4I4", u) }
    acc[9] = nil
    for _ = 2, iterations do
      u = prf(u)
      local w = { string.unpack(">I4I4I4I4I4I4I4I4", u) }
      for k = 1, 8 do
        acc[k] = acc[k] ~ w[k]
      end
    end
    out[b] = string.pack(">I4I4I4I4I4I4I4I4", table.unpack(acc, 1, 8))
  end
  return table.concat(out):sub(1, dklen)
end

---------------------------------------------------------------------------------------------
-- SASL CRAM-MD5 (RFC 2195 2)

-- cram_md5_response(user, password, challenge) -> the client response before base64:
-- user SP lower-case hex of HMAC-MD5(password, challenge). challenge is the decoded 334 text.
function M.cram_md5_response(user, password, challenge)
  return user .. " " .. M.hex(M.hmac_md5(password, challenge))
end

---------------------------------------------------------------------------------------------
-- SASL SCRAM-SHA-256 (RFC 5802 3 and 5, RFC 7677)

-- saslname (RFC 5802 5.1): "=" and "," are escaped as "=3D" and "=2C"
local function saslname(s)
  return (s:gsub("=", "=3D"):gsub(",", "=2C"))
end

-- scram_client_first(user, nonce) -> client-first-message, client-first-message-bare
-- (no channel binding: gs2-header "n,,")
function M.scram_client_first(user, nonce)
  local bare = "n=" .. saslname(user) .. ",r=" .. nonce
  return "n,," .. bare, bare
end

-- parse_scram(msg) -> table attr -> value for "a=v,b=w" (values may contain "=")
function M.parse_scram(msg)
  local t = {}
  for item in (msg .. ","):gmatch("([^,]*),") do
    local k, v = item:match("^(%a)=(.*)$")
    if k then t[k] = v end
  end
  return t
end

-- scram_client_final(password, client_first_bare, server_first, client_nonce)
--   -> client-final-message, expected server signature (raw) | nil, error
-- RFC 5802 3: SaltedPassword := Hi(Normalize(password), salt, i); ClientKey := HMAC(
-- SaltedPassword, "Client Key"); StoredKey := H(ClientKey); AuthMessage := client-first-bare
-- "," server-first "," client-final-without-proof; ClientSignature := HMAC(StoredKey,
-- AuthMessage); ClientProof := ClientKey XOR ClientSignature; ServerKey := HMAC(SaltedPassword,
-- "Server Key"); ServerSignature := HMAC(ServerKey, AuthMessage). (Normalize = SASLprep is the
-- identity for the ASCII passwords the test accounts use.)
function M.scram_client_final(password, client_first_bare, server_first, client_nonce)
  local a = M.parse_scram(server_first)
  if a.m then return nil, "server-first-message has a mandatory extension m=" end
  if not a.r or not a.s or not a.i then
    return nil, "server-first-message lacks r=, s= or i=: " .. server_first
  end
  if a.r:sub(1, #client_nonce) ~= client_nonce or #a.r <= #client_nonce then
    return nil, "the server nonce does not start with the client nonce"
  end
  local salt = base64.decode(a.s)
  local iter = tonumber(a.i)
  if not salt or not iter or iter < 1 or iter ~= math.floor(iter) then
    return nil, "bad salt or iteration count in " .. server_first
  end
  if iter > 100000 then
    return nil, "iteration count " .. iter .. " is more than this client computes in time"
  end
  local salted = M.pbkdf2_sha256(password, salt, iter, 32)
  local client_key = M.hmac_sha256(salted, "Client Key")
  local stored_key = M.sha256(client_key)
  local without_proof = "c=biws,r=" .. a.r -- "biws" = base64("n,,")
  local auth_message = client_first_bare .. "," .. server_first .. "," .. without_proof
  local client_sig = M.hmac_sha256(stored_key, auth_message)
  local proof = M.xor(client_key, client_sig)
  local server_key = M.hmac_sha256(salted, "Server Key")
  local server_sig = M.hmac_sha256(server_key, auth_message)
  return without_proof .. ",p=" .. base64.encode(proof), server_sig
end

---------------------------------------------------------------------------------------------
-- selftest() -> true | raises with the first known-answer test that fails

local function kat(name, got, want)
  if got ~= want then
    error("mh.crypto self-test failed: " .. name .. " gave " .. tostring(got) .. ", expected " ..
      want, 3)
  end
end

local selftest_done = false

function M.selftest(opts)
  if selftest_done then return true end
  local h = M.hex
  kat("MD5('')", h(M.md5("")), "d41d8cd98f00b204e9800998ecf8427e")
  kat("MD5('a')", h(M.md5("a")), "0cc175b9c0f1b6a831c399e269772661")
  kat("MD5('abc')", h(M.md5("abc")), "900150983cd24fb0d6963f7d28e17f72")
  kat("MD5('message digest')", h(M.md5("message digest")), "f96b697d7cb7938d525a2f31aaf161d0")
  kat("MD5(a-z)", h(M.md5("abcdefghijklmnopqrstuvwxyz")), "c3fcd3d76192e4007dfb496cca67e13b")
  kat("MD5(A-Za-z0-9)",
    h(M.md5("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")),
    "d174ab98d277d9f5a5611c2c9f419d9f")
  kat("MD5(1234567890 x 8)", h(M.md5(string.rep("1234567890", 8))),
    "57edf4a22be3c955ac49da2e2107b67a")
  kat("SHA-256('abc')", h(M.sha256("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  kat("SHA-256('')", h(M.sha256("")),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  kat("SHA-256(448 bits)", h(M.sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
  kat("CRAM-MD5 (RFC 2195)",
    M.cram_md5_response("tim", "tanstaaftanstaaf", "<1896.697170952@postoffice.reston.mci.net>"),
    "tim b913a602c7eda7a495b4e6e7334d3890")
  if not (opts and opts.quick) then
    local _, bare = M.scram_client_first("user", "rOprNGfwEbeRWgbNEkqO")
    local final, ssig = M.scram_client_final("pencil", bare,
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
      "rOprNGfwEbeRWgbNEkqO")
    kat("SCRAM-SHA-256 client-final (RFC 7677)", final,
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," ..
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    kat("SCRAM-SHA-256 server signature (RFC 7677)", base64.encode(ssig),
      "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    selftest_done = true
  end
  return true
end

return M
