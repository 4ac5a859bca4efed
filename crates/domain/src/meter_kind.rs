//! Вид прибора учета (F4, F5): what a meter measures, in which unit.

use crate::reading::ReadingValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MeterKind {
    HotWater,
    ColdWater,
    Heating,
}

impl MeterKind {
    pub const ALL: [MeterKind; 3] = [Self::HotWater, Self::ColdWater, Self::Heating];

    /// Stable code for the API and the database.
    pub fn code(&self) -> &'static str {
        match self {
            Self::HotWater => "hot_water",
            Self::ColdWater => "cold_water",
            Self::Heating => "heating",
        }
    }

    pub fn parse_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    pub fn unit(&self) -> &'static str {
        match self {
            Self::HotWater | Self::ColdWater => "м³",
            Self::Heating => "Гкал",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::HotWater => "Горячая вода",
            Self::ColdWater => "Холодная вода",
            Self::Heating => "Отопление",
        }
    }

    /// Monthly consumption above which a reading needs the customer's confirmation (F4):
    /// generous for a flat (norms are a few m³ of hot water per person), so only typos trip it.
    pub fn default_monthly_limit(&self) -> ReadingValue {
        let units: i64 = match self {
            Self::HotWater => 30,
            Self::ColdWater => 50,
            Self::Heating => 10,
        };
        ReadingValue::from_thousandths(units * 1000).unwrap_or(ReadingValue::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for kind in MeterKind::ALL {
            assert_eq!(MeterKind::parse_code(kind.code()), Some(kind));
        }
        assert_eq!(
            MeterKind::parse_code("hot_water"),
            Some(MeterKind::HotWater)
        );
        assert_eq!(MeterKind::parse_code("HOT_WATER"), None);
        assert_eq!(MeterKind::parse_code("gas"), None);
        assert_eq!(MeterKind::parse_code(""), None);
    }

    proptest::proptest! {
        #[test]
        fn only_the_codes_parse(code in proptest::prelude::any::<String>()) {
            let known = MeterKind::ALL.iter().any(|kind| kind.code() == code);
            proptest::prop_assert_eq!(MeterKind::parse_code(&code).is_some(), known);
        }
    }

    #[test]
    fn units_labels_limits() {
        assert_eq!(MeterKind::HotWater.unit(), "м³");
        assert_eq!(MeterKind::ColdWater.unit(), "м³");
        assert_eq!(MeterKind::Heating.unit(), "Гкал");
        assert_eq!(MeterKind::HotWater.label(), "Горячая вода");
        assert_eq!(MeterKind::ColdWater.label(), "Холодная вода");
        assert_eq!(MeterKind::Heating.label(), "Отопление");
        assert_eq!(
            MeterKind::HotWater.default_monthly_limit().to_string(),
            "30.000"
        );
        assert_eq!(
            MeterKind::ColdWater.default_monthly_limit().to_string(),
            "50.000"
        );
        assert_eq!(
            MeterKind::Heating.default_monthly_limit().to_string(),
            "10.000"
        );
    }
}
