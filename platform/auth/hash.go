package auth

import "crypto"

// cryptoSHA256 names the hash used for key thumbprints.
const cryptoSHA256 = crypto.SHA256
