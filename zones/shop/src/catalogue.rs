//! The products the shop sells. Prices are integer minor units (cents),
//! never floats.

/// One product of the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Product {
    pub slug: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// Price in euro cents.
    pub price_cents: i64,
}

/// The catalogue, in display order.
pub const PRODUCTS: &[Product] = &[
    Product {
        slug: "enamel-mug",
        name: "Enamel mug",
        description: "A 350 ml camping mug that survives every drop.",
        price_cents: 1_450,
    },
    Product {
        slug: "linen-notebook",
        name: "Linen notebook",
        description: "A5, 192 dotted pages, lays flat.",
        price_cents: 1_900,
    },
    Product {
        slug: "brass-pen",
        name: "Brass pen",
        description: "Machined brass body that ages to a warm patina.",
        price_cents: 4_800,
    },
    Product {
        slug: "wool-socks",
        name: "Merino socks",
        description: "Two pairs of soft, warm, odour-resistant socks.",
        price_cents: 2_200,
    },
    Product {
        slug: "canvas-tote",
        name: "Canvas tote",
        description: "Heavy cotton canvas with an inside pocket.",
        price_cents: 2_500,
    },
    Product {
        slug: "desk-lamp",
        name: "Desk lamp",
        description: "Dimmable warm-white LED on a steel arm.",
        price_cents: 8_900,
    },
    Product {
        slug: "pour-over",
        name: "Pour-over kit",
        description: "Ceramic dripper, 40 filters and a glass carafe.",
        price_cents: 3_900,
    },
    Product {
        slug: "oak-coasters",
        name: "Oak coasters",
        description: "Set of four oiled oak coasters.",
        price_cents: 1_600,
    },
    Product {
        slug: "field-bottle",
        name: "Field bottle",
        description: "Insulated steel, 750 ml, cold for a day.",
        price_cents: 3_200,
    },
    Product {
        slug: "wall-clock",
        name: "Wall clock",
        description: "Silent sweep movement, 30 cm birch face.",
        price_cents: 5_400,
    },
    Product {
        slug: "rain-shell",
        name: "Rain shell",
        description: "Packable waterproof jacket with taped seams.",
        price_cents: 12_900,
    },
    Product {
        slug: "plant-pot",
        name: "Stoneware pot",
        description: "Glazed 15 cm pot with a drainage saucer.",
        price_cents: 2_700,
    },
];

/// `1450` → `"€14.50"`.
pub fn format_price(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}€{}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_format_in_euros() {
        assert_eq!(format_price(1_450), "€14.50");
        assert_eq!(format_price(5), "€0.05");
        assert_eq!(format_price(0), "€0.00");
        assert_eq!(format_price(-1_999), "-€19.99");
    }

    #[test]
    fn slugs_are_unique_and_url_safe() {
        let mut slugs: Vec<_> = PRODUCTS.iter().map(|p| p.slug).collect();
        assert!(
            slugs
                .iter()
                .all(|s| s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        );
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), PRODUCTS.len());
    }

    #[test]
    fn every_price_is_positive() {
        assert!(PRODUCTS.iter().all(|p| p.price_cents > 0));
    }
}
