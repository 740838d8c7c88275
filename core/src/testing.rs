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
