//! Fixtures shared by the core's tests, the server's tests and the fuzz targets (feature
//! `testing`), so that "a household visited once, with a help task and an appeal" is written
//! once, by the store's own actions.

use crate::{
    Result, Store,
    domain::{
        appeal::{Asker, Channel, NewAppeal, Tier, Topic},
        household::{Address, HousingStatus, NewHousehold},
        task::NewHelpTask,
        visit::{NewVisit, VisitKind},
    },
};

/// The documents [`sample`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub household: String,
    pub task: String,
    pub appeal: String,
}

/// Writes, as the store's user, in `grid`: a household in liaison group `group` visited once
/// (or, given `household`, that one as it is), a help task for it and a general appeal about
/// it.
pub fn sample(
    store: &mut Store,
    grid: &str,
    group: Option<&str>,
    household: Option<&str>,
) -> Result<Sample> {
    let household = match household {
        Some(h) => h.to_string(),
        None => {
            let h = store.create_household(NewHousehold {
                grid: grid.into(),
                liaison_group: group.map(str::to_string),
                address: Address {
                    building: "1".into(),
                    unit: "1".into(),
                    room: "101".into(),
                    text: String::new(),
                },
                housing: HousingStatus::OwnerOccupied,
                residents: vec![],
            })?;
            store.record_visit(
                &h.id,
                NewVisit {
                    at: None,
                    kind: VisitKind::Routine,
                    notes: "一切正常".into(),
                    needs: vec![],
                },
                None,
                None,
            )?;
            h.id
        }
    };
    let task = store.open_task(NewHelpTask {
        household_id: household.clone(),
        need: "买降压药".into(),
        due_by: None,
    })?;
    let appeal = store.open_appeal(NewAppeal {
        grid: grid.into(),
        household_id: Some(household.clone()),
        channel: Channel::Visit,
        topic: Topic::from_code("parking"),
        tier: Tier::General,
        summary: "楼下乱停车".into(),
        asker: Asker::default(),
        received_at: None,
    })?;
    Ok(Sample {
        household,
        task,
        appeal,
    })
}

/// A picture as a phone's camera hands it over: a `w` × `h` JPEG of high quality whose content
/// varies with `seed` (gradients with grain, so it compresses like a photograph: about 3 MB at
/// 4000 × 3000).
pub fn camera_photo(w: u32, h: u32, seed: u32) -> Vec<u8> {
    use image::ImageEncoder;
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        // xorshift: grain like a sensor's.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let grain = (state % 24) as i32 - 12;
        let px = |v: u32| (v as i32 + grain).clamp(0, 255) as u8;
        image::Rgb([
            px((x * 255 / w + seed * 37) % 256),
            px((y * 255 / h + seed * 11) % 256),
            px(((x + y) * 128 / (w + h) + 64) % 256),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
        .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .expect("encoding a test photo");
    out
}
