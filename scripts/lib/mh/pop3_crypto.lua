-- mh.pop3_crypto: pure Lua 5.4 MD5 (RFC 1321), SHA-1 (RFC 3174), SHA-256 (FIPS 180-4), HMAC
-- (RFC 2104) and PBKDF2 / SCRAM Hi() (RFC 5802 2.2), for the POP3 cases that compute APOP digests
-- (RFC 1939 7), CRAM-MD5 responses (RFC 2195 2) and SCRAM proofs (RFC 5802 3).
--
-- Every function takes and returns binary strings; hex(s) renders lower-case hexadecimal.
-- self_test() checks the implementations against published vectors; the cases call it before
-- they rely on a digest, so a bug here ends the case in ERROR instead of blaming the server.
local M = {}

local MASK = 0xffffffff

local function rol(x, n)
  return ((x << n) | (x >> (32 - n))) & MASK
end

local function ror(x, n)
  return ((x >> n) | (x << (32 - n))) & MASK
end

-- hex(s) -> lower-case hexadecimal of the bytes of s
function M.hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- ---------------------------------------------------------------------------------------------
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

-- ---------------------------------------------------------------------------------------------
-- SHA-1 (RFC 3174) and SHA-256 (FIPS 180-4): big-endian Merkle-Damgard with 64-octet blocks

local function md_pad(len)
  return "\128" .. string.rep("\0", (55 - len) % 64) .. string.pack(">I8", (len * 8) & ~0)
end

local function sha1_block(H, msg, pos)
  local W = {}
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

local SHA1_IV = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 }

-- sha1_from(H0, done, msg): the digest of (the `done` octets that produced state H0) .. msg
local function sha1_from(H0, done, msg)
  local H = table.move(H0, 1, 5, 1, {})
  msg = msg .. md_pad(done + #msg)
  for pos = 1, #msg, 64 do
    sha1_block(H, msg, pos)
  end
  return string.pack(">I4>I4>I4>I4>I4", H[1], H[2], H[3], H[4], H[5])
end

-- sha1(msg) -> the 20-octet digest
function M.sha1(msg)
  return sha1_from(SHA1_IV, 0, msg)
end

local K256 = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

local function sha256_block(H, msg, pos)
  local W = {}
  for j = 1, 16 do
    W[j] = string.unpack(">I4", msg, pos + (j - 1) * 4)
  end
  for j = 17, 64 do
    local w15, w2 = W[j - 15], W[j - 2]
    local s0 = ror(w15, 7) ~ ror(w15, 18) ~ (w15 >> 3)
    local s1 = ror(w2, 17) ~ ror(w2, 19) ~ (w2 >> 10)
    W[j] = (W[j - 16] + s0 + W[j - 7] + s1) & MASK
  end
  local a, b, c, d, e, f, g, h = H[1], H[2], H[3], H[4], H[5], H[6], H[7], H[8]
  for j = 1, 64 do
    local S1 = ror(e, 6) ~ ror(e, 11) ~ ror(e, 25)
    local ch = (e & f) ~ ((~e & MASK) & g)
    local t1 = (h + S1 + ch + K256[j] + W[j]) & MASK
    local S0 = ror(a, 2) ~ ror(a, 13) ~ ror(a, 22)
    local maj = (a & b) ~ (a & c) ~ (b & c)
    local t2 = (S0 + maj) & MASK
    h, g, f, e, d, c, b, a = g, f, e, (d + t1) & MASK, c, b, a, (t1 + t2) & MASK
  end
  H[1], H[2], H[3], H[4] = (H[1] + a) & MASK, (H[2] + b) & MASK, (H[3] + c) & MASK, (H[4] + d) & MASK
  H[5], H[6], H[7], H[8] = (H[5] + e) & MASK, (H[6] + f) & MASK, (H[7] + g) & MASK, (H[8] + h) & MASK
end

local SHA256_IV = {
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

-- sha256_from(H0, done, msg): the digest of (the `done` octets that produced state H0) .. msg
local function sha256_from(H0, done, msg)
  local H = table.move(H0, 1, 8, 1, {})
  msg = msg .. md_pad(done + #msg)
  for pos = 1, #msg, 64 do
    sha256_block(H, msg, pos)
  end
  return string.pack(">I4>I4>I4>I4>I4>I4>I4>I4", table.unpack(H))
end

-- sha256(msg) -> the 32-octet digest
function M.sha256(msg)
  return sha256_from(SHA256_IV, 0, msg)
end

-- For PBKDF2: the state after one 64-octet block, and the digest continued from it.
local BLOCK_HASHES = {
  sha1 = { iv = SHA1_IV, block = sha1_block, from = sha1_from },
  sha256 = { iv = SHA256_IV, block = sha256_block, from = sha256_from },
}

-- ---------------------------------------------------------------------------------------------
-- HMAC (RFC 2104) and PBKDF2 (RFC 2898 5.2, which RFC 5802 2.2 calls Hi)

local HASHES = { md5 = M.md5, sha1 = M.sha1, sha256 = M.sha256 }

local function xor_pad(key, byte)
  return (key:gsub(".", function(c) return string.char(c:byte() ~ byte) end))
end

-- hmac(name, key, msg) -> the MAC; name is "md5", "sha1" or "sha256" (64-octet blocks)
function M.hmac(name, key, msg)
  local H = assert(HASHES[name], "unknown hash " .. tostring(name))
  if #key > 64 then key = H(key) end
  key = key .. string.rep("\0", 64 - #key)
  return H(xor_pad(key, 0x5c) .. H(xor_pad(key, 0x36) .. msg))
end

function M.hmac_md5(key, msg) return M.hmac("md5", key, msg) end

-- xor(a, b) -> a XOR b (same length)
function M.xor(a, b)
  assert(#a == #b, "xor of strings of different lengths")
  local out = {}
  for i = 1, #a do
    out[i] = string.char(a:byte(i) ~ b:byte(i))
  end
  return table.concat(out)
end

-- hi(name, password, salt, iterations) -> SaltedPassword: PBKDF2 with HMAC-<name> as the PRF and
-- one output block (RFC 5802 2.2: "Hi() is, essentially, PBKDF2 [RFC2898] with HMAC() as the
-- pseudorandom function (PRF) and with dkLen == output length of HMAC() == output length of H()")
function M.hi(name, password, salt, iterations)
  local H, B = HASHES[name], BLOCK_HASHES[name]
  local key = #password > 64 and H(password) or password
  key = key .. string.rep("\0", 64 - #key)
  -- the padded keys are one block each: hash them once, continue from those states
  local si = table.move(B.iv, 1, #B.iv, 1, {})
  local so = table.move(B.iv, 1, #B.iv, 1, {})
  B.block(si, xor_pad(key, 0x36), 1)
  B.block(so, xor_pad(key, 0x5c), 1)
  local from = B.from
  local u = from(so, 64, from(si, 64, salt .. "\0\0\0\1"))
  local acc = { u:byte(1, -1) }
  for _ = 2, iterations do
    u = from(so, 64, from(si, 64, u))
    for i = 1, #acc do
      acc[i] = acc[i] ~ u:byte(i)
    end
  end
  return string.char(table.unpack(acc))
end

-- ---------------------------------------------------------------------------------------------
-- Self-test

-- Published vectors. MD5: the RFC 1321 A.5 test suite, the RFC 1939 7 APOP example and the
-- RFC 2195 2 CRAM-MD5 example; SHA-1 / SHA-256: the FIPS 180 "abc" examples; SCRAM-SHA-1: the
-- RFC 5802 5 example exchange (user "user", password "pencil").
local VECTORS = {
  { "md5", "", "d41d8cd98f00b204e9800998ecf8427e" },
  { "md5", "a", "0cc175b9c0f1b6a831c399e269772661" },
  { "md5", "abc", "900150983cd24fb0d6963f7d28e17f72" },
  { "md5", "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
  { "md5", "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
  { "md5", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "d174ab98d277d9f5a5611c2c9f419d9f" },
  { "md5", string.rep("1234567890", 8), "57edf4a22be3c955ac49da2e2107b67a" },
  { "md5", "<1896.697170952@dbc.mtview.ca.us>tanstaaf", "c4c9334bac560ecc979e58001b3e22fb" },
  { "sha1", "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
  { "sha256", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
  { "sha256", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
}

local cached = {}

-- self_test([what]) -> true | false, what failed. what = "md5" (MD5 and HMAC-MD5: for APOP and
-- CRAM-MD5), "scram" (SHA-1, SHA-256 and the RFC 5802 SCRAM-SHA-1 example) or nil (both).
function M.self_test(what)
  if what == nil then
    local ok, err = M.self_test("md5")
    if not ok then return ok, err end
    return M.self_test("scram")
  end
  if cached[what] ~= nil then return cached[what], cached[what] == false and "see the first failure" or nil end
  local function fail(msg)
    cached[what] = false
    return false, msg
  end
  for _, v in ipairs(VECTORS) do
    if (v[1] == "md5") == (what == "md5") then
      local got = M.hex(HASHES[v[1]](v[2]))
      if got ~= v[3] then
        return fail(v[1] .. "(" .. string.format("%q", v[2]) .. ") = " .. got .. ", expected " .. v[3])
      end
    end
  end
  if what == "md5" then
    local cram = M.hex(M.hmac_md5("tanstaaftanstaaf", "<1896.697170952@postoffice.reston.mci.net>"))
    if cram ~= "b913a602c7eda7a495b4e6e7334d3890" then
      return fail("HMAC-MD5 of the RFC 2195 example = " .. cram)
    end
  else
    -- RFC 5802 5: the client proof and server signature of the example exchange
    local b64 = require("mh.base64")
    local client_first_bare = "n=user,r=fyko+d2lbbFgONRv9qkxdawL"
    local server_first = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
    local final_wo_proof = "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j"
    local proof, server_sig = M.scram_proof("sha1", "pencil", b64.decode("QSXCR+Q6sek8bf92"), 4096,
      client_first_bare .. "," .. server_first .. "," .. final_wo_proof)
    if b64.encode(proof) ~= "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=" or
        b64.encode(server_sig) ~= "rmF9pqV8S7suAoZWja4dJRkFsKQ=" then
      return fail("SCRAM-SHA-1 proof of the RFC 5802 example = " .. b64.encode(proof))
    end
  end
  cached[what] = true
  return true
end

-- scram_proof(name, password, salt, iterations, auth_message) -> ClientProof, ServerSignature
-- (RFC 5802 3)
function M.scram_proof(name, password, salt, iterations, auth_message)
  local H = HASHES[name]
  local salted = M.hi(name, password, salt, iterations)
  local client_key = M.hmac(name, salted, "Client Key")
  local stored_key = H(client_key)
  local client_sig = M.hmac(name, stored_key, auth_message)
  local server_key = M.hmac(name, salted, "Server Key")
  return M.xor(client_key, client_sig), M.hmac(name, server_key, auth_message)
end

-- require_ok([what]): raises (the case ends in ERROR, our fault, not the server's) when the
-- self-test of `what` (see self_test) fails.
function M.require_ok(what)
  local ok, err = M.self_test(what)
  if not ok then error("mh.pop3_crypto self-test failed: " .. tostring(err), 2) end
end

return M
