-- mh.crypto: MD5 (RFC 1321), SHA-1 (RFC 3174), SHA-256 (FIPS 180-4), HMAC (RFC 2104), PBKDF2
-- (RFC 8018 5.2; SCRAM's Hi(), RFC 5802 2.2) and the SASL / POP3 client computations built on
-- them: CRAM-MD5 (RFC 2195), SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677); APOP digests
-- (RFC 1939 7) are hex(md5(timestamp .. secret)). Pure Lua 5.4 (64-bit integers, 32-bit words
-- masked), because the sandbox has no hash functions and loads no C modules. Every function
-- takes and returns binary strings; hex(s) renders lower-case hexadecimal. Not constant-time:
-- a test tool's client side, never a place to keep secrets.
--
-- Known-answer tests (run by selftest(); the cases that compute a digest call it first, so a
-- broken implementation ends the case in ERROR and never reads as a server failure):
--   RFC 1321 A.5:  the MD5 test suite ("", "a", "abc", "message digest", a-z, A-Za-z0-9,
--                  "1234567890" x 8)
--   RFC 1939 7:    APOP: MD5("<1896.697170952@dbc.mtview.ca.us>tanstaaf")
--                      = c4c9334bac560ecc979e58001b3e22fb
--   FIPS 180 (NIST examples):
--                  SHA-1("abc") = a9993e364706816aba3e25717850c26c9cd0d89d
--                  SHA-1(448 bits) = 84983e441c3bd26ebaae4aa1f95129e5e54670f1
--                  SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
--                  SHA-256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
--                      = 248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1
--                  SHA-256("") = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
--   RFC 2202 2 and 3 (HMAC-MD5, HMAC-SHA-1) and RFC 4231 4 (HMAC-SHA-256): test cases 2
--                  (key "Jefe") and 6 (a key longer than the block, hashed first)
--   RFC 7914 11:   PBKDF2-HMAC-SHA-256("passwd", "salt", 1, 64) (two output blocks)
--   RFC 2195 2:    user "tim", password "tanstaaftanstaaf",
--                  challenge "<1896.697170952@postoffice.reston.mci.net>"
--                  -> "tim b913a602c7eda7a495b4e6e7334d3890"
--   RFC 5802 5:    SCRAM-SHA-1, user "user", password "pencil", client nonce
--                  "fyko+d2lbbFgONRv9qkxdawL" -> p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=,
--                  server signature v=rmF9pqV8S7suAoZWja4dJRkFsKQ=
--   RFC 7677 3:    SCRAM-SHA-256, user "user", password "pencil", client nonce
--                  "rOprNGfwEbeRWgbNEkqO", server-first-message
--                  "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
--                  -> client-final "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,
--                     p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
--                     server signature "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
--   (all values were also recomputed with Python's hashlib/hmac.)
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

local MD5_K, MD5_S = {}, {
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
}
for i = 0, 63 do
  -- RFC 1321 3.4: T[i] = the integer part of 4294967296 * abs(sin(i)), i in radians (1-based)
  MD5_K[i + 1] = math.floor(math.abs(math.sin(i + 1)) * 4294967296) & MASK
end

-- md5(msg) -> the 16-octet digest
function M.md5(msg)
  local len = #msg
  -- 3.1-3.2: pad with 0x80, zeros to 56 mod 64, then the bit length, little-endian 64 bits
  msg = msg .. "\128" .. string.rep("\0", (55 - len) % 64) .. string.pack("<I8", (len * 8) & ~0)
  local a0, b0, c0, d0 = 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476
  local X = {}
  for chunk = 1, #msg, 64 do
    for j = 0, 15 do
      X[j] = string.unpack("<I4", msg, chunk + j * 4)
    end
    local a, b, c, d = a0, b0, c0, d0
    for i = 0, 63 do
      local f, g
      if i < 16 then
        f, g = (b & c) | (~b & d), i
      elseif i < 32 then
        f, g = (d & b) | (~d & c), (5 * i + 1) % 16
      elseif i < 48 then
        f, g = b ~ c ~ d, (3 * i + 5) % 16
      else
        f, g = c ~ (b | (~d & MASK)), (7 * i) % 16
      end
      f = (f + a + MD5_K[i + 1] + X[g]) & MASK
      a, d, c = d, c, b
      b = (b + rol(f, MD5_S[i + 1])) & MASK
    end
    a0, b0 = (a0 + a) & MASK, (b0 + b) & MASK
    c0, d0 = (c0 + c) & MASK, (d0 + d) & MASK
  end
  return string.pack("<I4<I4<I4<I4", a0, b0, c0, d0)
end

---------------------------------------------------------------------------------------------
-- SHA-1 (RFC 3174) and SHA-256 (FIPS 180-4 6.2): big-endian Merkle-Damgard, 64-octet blocks

local W1 = {}
local function sha1_block(H, msg, pos)
  local W = W1
  for j = 0, 15 do
    W[j] = string.unpack(">I4", msg, pos + j * 4)
  end
  for j = 16, 79 do
    W[j] = rol(W[j - 3] ~ W[j - 8] ~ W[j - 14] ~ W[j - 16], 1)
  end
  local a, b, c, d, e = H[1], H[2], H[3], H[4], H[5]
  for j = 0, 79 do
    local f, k
    if j < 20 then
      f, k = (b & c) | ((~b & MASK) & d), 0x5a827999
    elseif j < 40 then
      f, k = b ~ c ~ d, 0x6ed9eba1
    elseif j < 60 then
      f, k = (b & c) | (b & d) | (c & d), 0x8f1bbcdc
    else
      f, k = b ~ c ~ d, 0xca62c1d6
    end
    local tmp = (rol(a, 5) + f + e + k + W[j]) & MASK
    e, d, c, b, a = d, c, rol(b, 30), a, tmp
  end
  H[1], H[2], H[3] = (H[1] + a) & MASK, (H[2] + b) & MASK, (H[3] + c) & MASK
  H[4], H[5] = (H[4] + d) & MASK, (H[5] + e) & MASK
end

local SHA256_K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

local W256 = {}
local function sha256_block(st, s, off)
  local W = W256
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
    local t1 = (h + S1 + ch + SHA256_K[i + 1] + W[i]) & MASK
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

-- The big-endian hashes: initial state, compression function, digest size in 32-bit words and
-- the string.pack format of the digest (PBKDF2 below works on the words).
local BE = {
  sha1 = {
    iv = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 },
    block = sha1_block, words = 5, fmt = ">I4I4I4I4I4",
  },
  sha256 = {
    iv = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
      0x5be0cd19 },
    block = sha256_block, words = 8, fmt = ">I4I4I4I4I4I4I4I4",
  },
}

-- digest_from(h, st0, prefix_len, s): the digest of (the prefix_len octets, a multiple of 64,
-- that produced state st0) .. s
local function digest_from(h, st0, prefix_len, s)
  local st = table.move(st0, 1, h.words, 1, {})
  local len = prefix_len + #s
  local padded = s .. "\128" .. string.rep("\0", (55 - len) % 64) .. string.pack(">I8", len * 8)
  local block = h.block
  for off = 1, #padded, 64 do
    block(st, padded, off)
  end
  return string.pack(h.fmt, table.unpack(st, 1, h.words))
end

-- sha1(s) -> the 20-octet digest
function M.sha1(s)
  return digest_from(BE.sha1, BE.sha1.iv, 0, s)
end

-- sha256(s) -> the 32-octet digest
function M.sha256(s)
  return digest_from(BE.sha256, BE.sha256.iv, 0, s)
end

local HASHES = { md5 = M.md5, sha1 = M.sha1, sha256 = M.sha256 }

local function hash_named(name, level)
  local H = HASHES[name]
  if not H then error("mh.crypto: unknown hash " .. tostring(name), level + 1) end
  return H
end

---------------------------------------------------------------------------------------------
-- HMAC (RFC 2104): H((K ^ opad) || H((K ^ ipad) || text)), block size 64 for all three hashes

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

-- hmac(name, key, text) -> the MAC; name is "md5", "sha1" or "sha256"
function M.hmac(name, key, text)
  local H = hash_named(name, 2)
  local ipad, opad = hmac_keys(H, key)
  return H(opad .. H(ipad .. text))
end

function M.hmac_md5(key, text) return M.hmac("md5", key, text) end
function M.hmac_sha1(key, text) return M.hmac("sha1", key, text) end
function M.hmac_sha256(key, text) return M.hmac("sha256", key, text) end

-- An HMAC with a fixed key whose padded-key blocks are compressed once, for PBKDF2's thousands
-- of iterations (the result is the same as hmac(name, key, text)).
local function hmac_prepared(name, key)
  local h = BE[name]
  local ipad, opad = hmac_keys(HASHES[name], key)
  local ist = table.move(h.iv, 1, h.words, 1, {})
  h.block(ist, ipad, 1)
  local ost = table.move(h.iv, 1, h.words, 1, {})
  h.block(ost, opad, 1)
  return function(text)
    return digest_from(h, ost, 64, digest_from(h, ist, 64, text))
  end
end

---------------------------------------------------------------------------------------------
-- PBKDF2 (RFC 8018 5.2) with HMAC-SHA-1 or HMAC-SHA-256 as the PRF

-- pbkdf2(name, password, salt, iterations [, dklen]) -> derived key; name "sha1" or "sha256";
-- dklen defaults to the digest size.
function M.pbkdf2(name, password, salt, iterations, dklen)
  local h = BE[name]
  if not h then error("mh.crypto: pbkdf2 supports sha1 and sha256, not " .. tostring(name), 2) end
  local n, fmt = h.words, h.fmt
  dklen = dklen or 4 * n
  local prf = hmac_prepared(name, password)
  local out = {}
  local blocks = (dklen + 4 * n - 1) // (4 * n)
  for b = 1, blocks do
    local u = prf(salt .. string.pack(">I4", b))
    local acc = { string.unpack(fmt, u) }
    acc[n + 1] = nil
    for _ = 2, iterations do
      u = prf(u)
      local w = { string.unpack(fmt, u) }
      for k = 1, n do
        acc[k] = acc[k] ~ w[k]
      end
    end
    out[b] = string.pack(fmt, table.unpack(acc, 1, n))
  end
  return table.concat(out):sub(1, dklen)
end

-- pbkdf2_sha256(password, salt, iterations [, dklen]) -> pbkdf2("sha256", ...)
function M.pbkdf2_sha256(password, salt, iterations, dklen)
  return M.pbkdf2("sha256", password, salt, iterations, dklen)
end

-- hi(name, password, salt, iterations) -> SaltedPassword (RFC 5802 2.2: "Hi() is, essentially,
-- PBKDF2 [RFC2898] with HMAC() as the pseudorandom function (PRF) and with dkLen == output
-- length of HMAC() == output length of H()")
function M.hi(name, password, salt, iterations)
  return M.pbkdf2(name, password, salt, iterations)
end

---------------------------------------------------------------------------------------------
-- SASL CRAM-MD5 (RFC 2195 2)

-- cram_md5_response(user, password, challenge) -> the client response before base64:
-- user SP lower-case hex of HMAC-MD5(password, challenge). challenge is the decoded challenge.
function M.cram_md5_response(user, password, challenge)
  return user .. " " .. M.hex(M.hmac_md5(password, challenge))
end

---------------------------------------------------------------------------------------------
-- SASL SCRAM-SHA-1 / SCRAM-SHA-256 (RFC 5802 3 and 5, RFC 7677)

-- scram_proof(name, password, salt, iterations, auth_message) -> ClientProof, ServerSignature
-- (raw). RFC 5802 3: SaltedPassword := Hi(Normalize(password), salt, i); ClientKey :=
-- HMAC(SaltedPassword, "Client Key"); StoredKey := H(ClientKey); ClientSignature :=
-- HMAC(StoredKey, AuthMessage); ClientProof := ClientKey XOR ClientSignature; ServerKey :=
-- HMAC(SaltedPassword, "Server Key"); ServerSignature := HMAC(ServerKey, AuthMessage).
-- (Normalize = SASLprep is the identity for the ASCII passwords the test accounts use.)
function M.scram_proof(name, password, salt, iterations, auth_message)
  local H = hash_named(name, 2)
  local salted = M.hi(name, password, salt, iterations)
  local client_key = M.hmac(name, salted, "Client Key")
  local stored_key = H(client_key)
  local client_sig = M.hmac(name, stored_key, auth_message)
  local server_key = M.hmac(name, salted, "Server Key")
  return M.xor(client_key, client_sig), M.hmac(name, server_key, auth_message)
end

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

-- scram_client_final(password, client_first_bare, server_first, client_nonce [, name])
--   -> client-final-message, expected server signature (raw) | nil, error
-- name is "sha256" (SCRAM-SHA-256, the default) or "sha1" (SCRAM-SHA-1). AuthMessage :=
-- client-first-bare "," server-first "," client-final-without-proof (RFC 5802 3).
function M.scram_client_final(password, client_first_bare, server_first, client_nonce, name)
  name = name or "sha256"
  if not BE[name] then error("mh.crypto: SCRAM with sha1 or sha256, not " .. tostring(name), 2) end
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
  local without_proof = "c=biws,r=" .. a.r -- "biws" = base64("n,,")
  local auth_message = client_first_bare .. "," .. server_first .. "," .. without_proof
  local proof, server_sig = M.scram_proof(name, password, salt, iter, auth_message)
  return without_proof .. ",p=" .. base64.encode(proof), server_sig
end

---------------------------------------------------------------------------------------------
-- selftest([{quick = true}]) -> true | raises with the first known-answer test that fails.
-- quick leaves out the two SCRAM examples (4096 PBKDF2 iterations each); a passed test is
-- remembered for the rest of the case.

-- { label, function, input, expected hex }
local DIGEST_VECTORS = {
  { "MD5('')", M.md5, "", "d41d8cd98f00b204e9800998ecf8427e" },
  { "MD5('a')", M.md5, "a", "0cc175b9c0f1b6a831c399e269772661" },
  { "MD5('abc')", M.md5, "abc", "900150983cd24fb0d6963f7d28e17f72" },
  { "MD5('message digest')", M.md5, "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
  { "MD5(a-z)", M.md5, "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
  { "MD5(A-Za-z0-9)", M.md5, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "d174ab98d277d9f5a5611c2c9f419d9f" },
  { "MD5(1234567890 x 8)", M.md5, string.rep("1234567890", 8), "57edf4a22be3c955ac49da2e2107b67a" },
  { "APOP digest (RFC 1939 7)", M.md5, "<1896.697170952@dbc.mtview.ca.us>tanstaaf",
    "c4c9334bac560ecc979e58001b3e22fb" },
  { "SHA-1('abc')", M.sha1, "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
  { "SHA-1(448 bits)", M.sha1, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
    "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
  { "SHA-256('abc')", M.sha256, "abc",
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
  { "SHA-256('')", M.sha256, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
  { "SHA-256(448 bits)", M.sha256, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
}

local HMAC_LONG_TEXT = "Test Using Larger Than Block-Size Key - Hash Key First"
-- { label, hash name, key, text, expected hex }
local HMAC_VECTORS = {
  { "HMAC-MD5 (RFC 2202 case 2)", "md5", "Jefe", "what do ya want for nothing?",
    "750c783e6ab0b503eaa86e310a5db738" },
  { "HMAC-MD5 (RFC 2202 case 6)", "md5", string.rep("\170", 80), HMAC_LONG_TEXT,
    "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd" },
  { "HMAC-SHA-1 (RFC 2202 case 2)", "sha1", "Jefe", "what do ya want for nothing?",
    "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79" },
  { "HMAC-SHA-1 (RFC 2202 case 6)", "sha1", string.rep("\170", 80), HMAC_LONG_TEXT,
    "aa4ae5e15272d00e95705637ce8a3b55ed402112" },
  { "HMAC-SHA-256 (RFC 4231 case 2)", "sha256", "Jefe", "what do ya want for nothing?",
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
  { "HMAC-SHA-256 (RFC 4231 case 6)", "sha256", string.rep("\170", 131), HMAC_LONG_TEXT,
    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
}

-- { label, hash name, user, password, client nonce, server-first, client-final, server sig }
local SCRAM_VECTORS = {
  { "SCRAM-SHA-1 (RFC 5802 5)", "sha1", "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL",
    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    "rmF9pqV8S7suAoZWja4dJRkFsKQ=" },
  { "SCRAM-SHA-256 (RFC 7677 3)", "sha256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO",
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," ..
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" },
}

local function kat(name, got, want)
  if got ~= want then
    error("mh.crypto self-test failed: " .. name .. " gave " .. tostring(got) .. ", expected " ..
      want, 3)
  end
end

local passed_quick, passed_full = false, false

function M.selftest(opts)
  local quick = opts and opts.quick
  if passed_full or (quick and passed_quick) then return true end
  if not passed_quick then
    local h = M.hex
    for _, v in ipairs(DIGEST_VECTORS) do
      kat(v[1], h(v[2](v[3])), v[4])
    end
    for _, v in ipairs(HMAC_VECTORS) do
      kat(v[1], h(M.hmac(v[2], v[3], v[4])), v[5])
    end
    kat("PBKDF2-HMAC-SHA-256 (RFC 7914 11)", h(M.pbkdf2_sha256("passwd", "salt", 1, 64)),
      "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc" ..
      "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")
    kat("CRAM-MD5 (RFC 2195 2)",
      M.cram_md5_response("tim", "tanstaaftanstaaf", "<1896.697170952@postoffice.reston.mci.net>"),
      "tim b913a602c7eda7a495b4e6e7334d3890")
    passed_quick = true
  end
  if quick then return true end
  for _, v in ipairs(SCRAM_VECTORS) do
    local _, bare = M.scram_client_first(v[3], v[5])
    local final, ssig = M.scram_client_final(v[4], bare, v[6], v[5], v[2])
    kat(v[1] .. " client-final", final, v[7])
    kat(v[1] .. " server signature", ssig and base64.encode(ssig), v[8])
  end
  passed_full = true
  return true
end

return M
