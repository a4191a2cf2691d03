//! Floats in deterministic form: the shortest of half, single and double that preserves the
//! value (RFC 8949 §4.2.1), and the one NaN 0xf97e00 (RFC 8949 §4.2.2, required by MIMI
//! content).

use crate::Error;

/// Checks a major-type-7 item with additional information `info` and argument `bits`.
pub(crate) fn check(info: u8, bits: u64, offset: usize) -> Result<(), Error> {
    match info {
        25 => {
            let is_nan = bits & 0x7c00 == 0x7c00 && bits & 0x03ff != 0;
            if is_nan && bits != 0x7e00 {
                return Err(Error::DisallowedNaN { offset });
            }
        }
        26 => {
            let b = bits as u32;
            if f32::from_bits(b).is_nan() {
                return Err(Error::DisallowedNaN { offset });
            }
            if f32_fits_f16(b) {
                return Err(Error::NonShortestFloat { offset });
            }
        }
        27 => {
            if f64::from_bits(bits).is_nan() {
                return Err(Error::DisallowedNaN { offset });
            }
            if f64_fits_f32(bits) {
                return Err(Error::NonShortestFloat { offset });
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether a finite or infinite binary float with unbiased exponent `exp` and significand
/// `sig` (implicit bit included, `sig_bits` fraction bits) is exactly representable in a
/// narrower format with `frac_bits` fraction bits and normal exponents `min_exp..=max_exp`
/// (subnormals down to `min_exp - frac_bits`).
fn fits_narrower(
    exp: i32,
    sig: u64,
    sig_bits: u32,
    frac_bits: u32,
    min_exp: i32,
    max_exp: i32,
) -> bool {
    if exp > max_exp {
        return false;
    }
    // The value is sig * 2^(exp - sig_bits); it is representable iff it is a multiple of the
    // narrower format's quantum at that exponent.
    let quantum_exp = if exp >= min_exp {
        exp - frac_bits as i32
    } else {
        min_exp - frac_bits as i32
    };
    let needed = quantum_exp - (exp - sig_bits as i32); // trailing zero bits needed in `sig`
    needed <= 0 || (needed < 64 && sig.trailing_zeros() >= needed as u32)
}

/// Whether the f32 with bits `b` (not NaN) is exactly representable as an IEEE half.
fn f32_fits_f16(b: u32) -> bool {
    let exp_field = (b >> 23) & 0xff;
    let frac = u64::from(b & 0x7f_ffff);
    if exp_field == 0xff {
        return true; // ±infinity
    }
    if exp_field == 0 {
        // Zero fits; f32 subnormals (< 2^-126) are far below the smallest half.
        return frac == 0;
    }
    fits_narrower(exp_field as i32 - 127, frac | 1 << 23, 23, 10, -14, 15)
}

/// Whether the f64 with bits `b` (not NaN) is exactly representable as an IEEE single.
fn f64_fits_f32(b: u64) -> bool {
    let exp_field = (b >> 52) & 0x7ff;
    let frac = b & 0x000f_ffff_ffff_ffff;
    if exp_field == 0x7ff {
        return true; // ±infinity
    }
    if exp_field == 0 {
        return frac == 0; // f64 subnormals (< 2^-1022) are below the smallest single
    }
    fits_narrower(exp_field as i32 - 1023, frac | 1 << 52, 52, 23, -126, 127)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_narrowing() {
        assert!(f32_fits_f16(1.0f32.to_bits()));
        assert!(f32_fits_f16(65504.0f32.to_bits()));
        assert!(!f32_fits_f16(65520.0f32.to_bits()));
        assert!(f32_fits_f16(5.960_464_5e-8f32.to_bits())); // 2^-24, smallest half subnormal
        assert!(!f32_fits_f16((5.960_464_5e-8f32 / 2.0).to_bits()));
        assert!(!f32_fits_f16(0.1f32.to_bits()));
        assert!(f32_fits_f16(f32::INFINITY.to_bits()));
        assert!(f32_fits_f16((-0.0f32).to_bits()));
        assert!(f64_fits_f32(0.5f64.to_bits()));
        assert!(!f64_fits_f32(0.1f64.to_bits()));
        assert!(f64_fits_f32(f64::from(f32::MIN_POSITIVE / 8.0).to_bits()));
        assert!(!f64_fits_f32(1e300f64.to_bits()));
        assert!(f64_fits_f32(f64::NEG_INFINITY.to_bits()));
    }
}
