//! The dashboard's words, zh-CN first and English second.
//!
//! Every string a page shows is a field of [`Tr`], and the [`tr!`] macro takes each field's two
//! translations side by side: a string added in one language and not the other does not compile.
//! Labels of domain values (tiers, statuses, tags...) come from the domain's own `label_zh` /
//! `label_en`, through [`Lang::pick`].

/// The language of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The cookie value and query parameter.
    pub fn from_code(s: &str) -> Option<Lang> {
        match s {
            "zh" | "zh-CN" | "zh-cn" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn short(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    pub fn tr(self) -> &'static Tr {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }
}

macro_rules! tr {
    ($($field:ident: $zh:literal, $en:literal;)+) => {
        /// Every string of the dashboard in one language.
        #[derive(Debug)]
        pub struct Tr { $(pub $field: &'static str,)+ }
        pub static ZH: Tr = Tr { $($field: $zh,)+ };
        pub static EN: Tr = Tr { $($field: $en,)+ };
    };
}

tr! {
    app: "到家 · 督导台", "Doorstep · Supervision";
    switch_lang: "English", "中文";
    logout: "退出登录", "Log out";
    login_title: "登录", "Log in";
    login_name: "登录名", "Login";
    password: "密码", "Password";
    login_button: "登录", "Log in";
    login_failed: "登录名或密码不正确", "Wrong login or password";
    login_rate: "尝试次数过多，请稍后再试", "Too many attempts, try again shortly";
    login_hint: "仅限社区书记、网格长、街道工作人员和系统管理员", "For community secretaries, grid chiefs, street staff and administrators";
    overview: "概览", "Overview";
    households: "住户", "Households";
    appeals: "诉求台账", "Appeal ledger";
    tasks: "搭把手", "Help a hand";
    devices: "设备", "Devices";
    admin: "管理", "Administration";
    coverage: "走访覆盖", "Visit coverage";
    visited_30: "近30天走访", "Visited, last 30 days";
    visited_90: "近90天走访", "Visited, last 90 days";
    never_visited: "从未走访", "Never visited";
    photo: "照片", "Photo";
    household_count: "户数", "Households";
    attention: "重点关注人员", "Residents needing attention";
    attention_note: "按户统计（户内有此类居民）。属于敏感个人信息，仅限授权人员查看名单。", "Counted by household (a resident of the kind lives there). Sensitive personal data: lists for authorised staff only.";
    show_list: "查看名单", "Show list";
    help_open: "待认领", "Open";
    help_claimed: "已认领", "Claimed";
    help_done_week: "本周完成", "Done this week";
    help_oldest: "等待最久", "Waiting longest";
    none: "无", "None";
    appeals_open: "在办", "Open";
    appeals_overdue: "超期", "Overdue";
    appeals_total: "全部诉求", "All appeals";
    by_status: "按状态", "By status";
    by_tier: "按响应等级", "By response tier";
    by_topic: "按类别", "By topic";
    by_channel: "按渠道", "By channel";
    outcomes: "办理结果", "Outcomes";
    resolved: "已办结", "Resolved";
    on_time: "按时响应率", "Met on time";
    satisfaction: "满意度", "Satisfaction";
    satisfaction_none: "尚无回访评价", "No feedback yet";
    overdue_first: "超期诉求（超期最久在前）", "Overdue appeals (longest over first)";
    due_next: "即将到期", "Due next";
    see_all: "查看全部", "See all";
    trends: "趋势", "Trends";
    visits_per_week: "每周走访次数", "Visits per week";
    appeals_per_topic: "近12周诉求类别", "Appeals by topic, last 12 weeks";
    overdue_per_week: "每周末超期诉求数", "Overdue appeals at each week's end";
    units_below: "下辖单位", "Units below";
    unit_name: "名称", "Name";
    last_sync: "最近同步", "Last sync";
    never_synced: "从未同步", "Never synced";
    no_device: "无设备", "No device";
    search: "搜索", "Search";
    search_hint: "姓名、地址或电话", "Name, address or phone";
    filter: "筛选", "Filter";
    all: "全部", "All";
    tag: "关注类别", "Attention";
    visit_state: "走访情况", "Visits";
    not_30: "30天未走访", "Not visited in 30 days";
    not_90: "90天未走访", "Not visited in 90 days";
    sort: "排序", "Sort";
    sort_address: "按地址", "By address";
    sort_last_visit: "最久未走访在前", "Longest unvisited first";
    sort_name: "按姓名", "By name";
    sort_urgency: "超期在前，其次剩余时间", "Overdue first, then time left";
    sort_newest: "最新在前", "Newest first";
    sort_oldest: "最早在前", "Oldest first";
    export_csv: "导出 CSV", "Export CSV";
    page: "页", "Page";
    prev: "上一页", "Previous";
    next: "下一页", "Next";
    results: "条结果", "results";
    address: "地址", "Address";
    head: "户主", "Head";
    phone: "电话", "Phone";
    residents: "居民", "Residents";
    grid: "网格", "Grid";
    last_visit: "最近走访", "Last visit";
    visits: "走访", "Visits";
    tags: "关注标签", "Attention tags";
    housing: "住房", "Housing";
    status: "状态", "Status";
    tier: "等级", "Tier";
    topic: "类别", "Topic";
    channel: "渠道", "Channel";
    summary: "内容", "Summary";
    asker: "诉求人", "Asked by";
    responsible: "责任人", "Responsible";
    department: "承办部门", "Department";
    received: "受理时间", "Received";
    deadline: "时限", "Deadline";
    time_left: "剩余", "Left";
    over_by: "已超期", "Over by";
    met: "已按时响应", "Met in time";
    met_late: "逾期响应", "Met late";
    overdue_only: "仅看超期", "Overdue only";
    open_only: "仅看在办", "Open only";
    household: "住户", "Household";
    name: "姓名", "Name";
    gender: "性别", "Gender";
    birth_year: "出生年份", "Born";
    relation: "与户主关系", "Relation";
    notes: "备注", "Notes";
    moved_out: "已迁出", "Moved out";
    visit_log: "走访记录", "Visits";
    device_clock: "手机时钟：", "Phone clock:";
    device_clock_hint: "该手机时钟有误，已按服务器收到的时间计", "The phone's clock was wrong; the server's time is used";
    visited_by: "走访人", "Visited by";
    visit_kind: "类型", "Kind";
    needs: "发现需求", "Needs found";
    open_tasks: "未完成的搭把手", "Help tasks not done";
    household_appeals: "诉求", "Appeals";
    history: "修改记录", "History of changes";
    when: "时间", "When";
    who: "修改人", "Who";
    what: "内容", "What";
    history_note: "时间为记录设备上的时间。", "Times are the recording device's clock.";
    audit: "审计记录", "Audit log";
    audit_note: "服务器收到的每一项修改：由谁、通过哪台设备送达，时间为服务器时间（最近200条）。", "Every change the server accepted: who brought it, through which device, at the server's time (the latest 200).";
    received_by_server: "服务器收到", "Received";
    document: "记录", "Record";
    change: "修改编号", "Change";
    dashboard_device: "督导台", "Dashboard";
    doc_household: "住户", "Household";
    doc_task: "搭把手", "Help task";
    doc_appeal: "诉求", "Appeal";
    doc_visits: "走访记录", "Visits";
    need: "需求", "Need";
    due_by: "期限", "Due";
    claimant: "认领人", "Claimed by";
    created: "创建", "Created";
    done_at: "完成时间", "Done";
    task_status_filter_all: "含已完成", "Include finished";
    appeal: "诉求", "Appeal";
    events: "办理过程", "Events";
    event: "事件", "Event";
    by: "经办人", "By";
    note: "说明", "Note";
    triage: "处置", "Triage";
    triage_note: "处置将以您的名义写入诉求记录，网格员下次同步时收到。", "Actions are written into the appeal in your name and reach the grid worker's phone at its next sync.";
    assign: "指派责任人", "Assign";
    assign_to: "指派给", "Assign to";
    whistle: "吹哨", "Whistle";
    whistle_to: "吹哨至部门", "Whistle to department";
    escalate: "上报街道", "Escalate to the street";
    close: "销账", "Close";
    submit: "提交", "Submit";
    closed_no_actions: "此诉求已办结或销账，不能再处置。", "This appeal is resolved or closed: no more triage.";
    done_ok: "已保存，将在下次同步时送达网格员手机。", "Saved; it reaches the grid worker's phone at its next sync.";
    device: "设备", "Device";
    person: "人员", "Person";
    role: "角色", "Role";
    units: "所属单位", "Units";
    enrolled: "登记时间", "Enrolled";
    cursor: "同步位置", "Cursor";
    pending_pull: "待下发修改", "Changes waiting to go down";
    refused_docs: "被拒文档（仍在手机上未同步）", "Refused documents (still unsynced on the phone)";
    revoked: "已停用", "Revoked";
    lost: "已挂失", "Reported lost";
    handing_over: "移交中", "Handing over";
    handed_over: "已移交", "Handed over";
    hand_over: "移交", "Hand over";
    hand_over_confirm: "手机下次同步时会先上传全部记录，然后清除本机数据，可交给他人重新登记。确定移交吗？", "At its next sync the phone delivers everything it holds, then erases itself and can be enrolled by someone else. Hand it over?";
    undelivered: "未送达", "never received";
    kept_refused: "被拒记录留存", "refused records kept";
    reason: "原因", "Reason";
    what_changed: "所做修改", "What was done";
    directory_history: "变更记录", "Changes to the directory and records";
    regrid: "网格调整", "Grids and units";
    regrid_help: "拆分、合并网格，撤销联户组，调整人员所属单位。住户及其走访、搭把手和诉求随之迁移，各手机下次同步时自动更新。", "Split or merge grids, retire a liaison group, move a person to other units. Households move with their visits, help tasks and appeals; every phone follows at its next sync.";
    split_grid: "拆分网格", "Split a grid";
    merge_grids: "合并网格", "Merge grids";
    retire_group: "撤销联户组", "Retire a liaison group";
    set_units: "调整人员所属单位", "Move a person";
    new_grid_id: "新网格编号", "New grid id";
    new_grid_name: "新网格名称", "New grid name";
    buildings_moving: "迁出的楼栋（逗号分隔）", "Buildings that move (comma-separated)";
    groups_moving: "迁出的联户组（逗号分隔）", "Liaison groups that move (comma-separated)";
    from_grid: "并入的网格", "Grid merged";
    into_grid: "并入到", "Into grid";
    group_field: "联户组", "Liaison group";
    into_group_optional: "住户转入的联户组（可空）", "Group its households join (optional)";
    person_field: "人员", "Person";
    units_field: "所属单位（逗号分隔）", "Units (comma-separated)";
    regrid_done: "已完成，迁移住户", "Done; households moved:";
    units_done: "已调整所属单位", "Units changed";
    set_role: "调整人员角色", "Change a person's role";
    role_field: "新角色", "New role";
    role_done: "已调整角色，请为其重新登记手机", "Role changed; enroll their phone again";
    task: "搭把手", "Help task";
    kept_title: "被拒的修改（服务器留存）", "Refused changes (kept on the server)";
    kept_note: "手机上被规则拒绝的修改，原样留存在服务器上供核查，即使手机已移交、挂失或删除了这些修改。", "Changes the rules refused from a phone, kept on the server as they were for review, even after the phone was handed over, lost, or dropped them.";
    move_household: "迁往其他网格", "Move to another grid";
    liaison_group_id: "联户组编号", "Liaison group id";
    optional_hint: "可不填", "optional";
    move_confirm: "住户及其求助和诉求将迁往所选网格，原网格的手机下次同步时不再保留。确定吗？", "The household, its help tasks and appeals move to the chosen grid; the old grid's phones drop them at their next sync. Move it?";
    move_note: "迁移记入每份记录的历史（何人、何时）。", "The move is recorded in each record's history (who, when).";
    household_moved: "已迁移：各手机下次同步时随之更新。", "Moved: every phone follows at its next sync.";
    not_enrolled: "未完成登记", "Not enrolled yet";
    revoke: "挂失", "Lost";
    revoke_confirm: "挂失后该设备立即停用，下次联网时清除本机数据，未同步的记录将丢失。确定吗？", "The device stops at once and erases itself at its next contact; what it has not synced is lost. Report it lost?";
    devices_note: "“待下发”是服务器上该设备范围内、它尚未拉取的修改；手机离线期间新记录的内容服务器无从得知。", "\"Waiting\" counts changes in the device's scope it has not pulled yet; what a phone recorded offline since its last sync the server cannot know.";
    stale_note: "超过2天未同步的设备标为橙色。", "Devices without a sync for over 2 days are marked orange.";
    stale_grids: "个网格的手机超过2天未同步或从未同步", "grid(s) whose phones have not synced for over 2 days, or never";
    directory: "组织目录", "Directory";
    people: "人员", "People";
    enroll: "登记新手机", "Enroll a phone";
    enroll_for: "为此人登记", "For";
    enroll_code: "登记码", "Enrollment code";
    enroll_expires: "有效期至", "Valid until";
    enroll_help: "在手机上扫描二维码，或手动输入登记码。登记码只显示这一次。", "Scan the QR code with the phone, or type the code. The code is shown this once.";
    import: "导入住户花名册", "Import a household roll";
    import_grid: "导入到网格", "Into grid";
    import_file: "CSV 文件（UTF-8）", "CSV file (UTF-8)";
    import_help: "表头可用中文或英文：楼栋、单元、室、地址、户主（必填）、电话、性别、出生年份、联户组、住房、标签。有任何一行出错则全部不导入。", "Headers in Chinese or English: building, unit, room, address, head (required), phone, gender, birth_year, group, housing, tags. If any line is wrong nothing is imported.";
    import_done: "导入完成，户数：", "Imported, households:";
    import_failed: "导入失败，未导入任何数据", "Import failed, nothing imported";
    back: "返回", "Back";
    forbidden_title: "无权访问", "Not allowed";
    forbidden: "您无权查看此页面：它不在您负责的社区或街道范围内。", "You may not see this page: it is outside your community or street.";
    not_found_title: "未找到", "Not found";
    not_found: "没有找到这个页面或记录。", "No such page or record.";
    bad_request_title: "请求有误", "Bad request";
    csrf_failed: "表单已过期或来源不明，请返回刷新后重试。", "The form expired or did not come from this site; go back, reload and try again.";
    error_title: "出错了", "Something went wrong";
    minutes: "分钟", "min";
    hours: "小时", "h";
    days: "天", "d";
    ago: "前", "ago";
    just_now: "刚刚", "just now";
    admin_no_residents: "管理员账户管理目录和设备，不查看居民数据。", "Administrator accounts manage the directory and devices; they do not see residents' data.";
    kind: "层级", "Level";
    id: "编号", "Id";
    parent: "上级", "Parent";
    login_account: "登录账户", "Login";
    plans: "走访计划", "Visit plans";
    plans_note: "未诉先办：按走访计划，需要关注的人员走访得更勤。一户的走访间隔取其在住人员标签中最严格的一项。", "Handle needs before anyone complains: under the visit plans, people needing attention are visited more often. A household's interval is the strictest of its living residents' tags.";
    no_plans: "本单位还没有走访计划", "No visit plan for this unit yet";
    plan_name: "计划名称", "Plan";
    plan_unit: "适用范围", "Applies to";
    default_days: "其他住户（天）", "Everyone else (days)";
    interval_days: "间隔（天）", "Interval (days)";
    questions: "必问事项", "Must-asks";
    one_per_line: "每行一项", "one per line";
    plan_starts: "开始日期", "Starts";
    plan_ends: "结束日期", "Ends";
    plan_goal: "月度按时目标（%）", "Monthly on-time goal (%)";
    plan_version: "版本", "Version";
    plan_withdrawn: "已停用", "Withdrawn";
    plan_new: "新建走访计划", "New visit plan";
    plan_edit: "修改", "Change";
    plan_withdraw: "停用此计划", "Withdraw this plan";
    plan_saved: "走访计划已保存，网格员手机同步后生效", "Plan saved: phones apply it at their next sync";
    add_question: "新增必问事项", "Add a must-ask";
    withdraw_question: "停用必问事项", "Withdraw a must-ask";
    clear_hint: "留空则不改；填 0 则清除该项", "Leave empty to keep; 0 clears it";
    coverage_title: "计划走访完成情况", "Plan coverage";
    under_plan: "纳入计划住户", "Households under a plan";
    on_schedule: "按时", "On schedule";
    overdue_visits: "逾期未访", "Overdue";
    due_soon: "7天内到期", "Due within 7 days";
    by_grid: "按网格", "By grid";
    by_interval_tag: "按决定间隔的标签", "By the tag that sets the interval";
    everyone_else: "其他住户", "Everyone else";
    workers_month: "本月各网格员按时走访率", "Each worker's on-time visits this month";
    worker: "网格员", "Worker";
    visits_on_time: "按时", "On time";
    visits_late: "超期走访", "Late";
    visits_missed: "到期未访", "Missed";
    on_time_share: "按时率", "On time";
    goal: "目标", "Goal";
    goal_met: "达标", "Met";
    goal_missed: "未达标", "Below";
    coverage_trend: "每周末按时住户占比", "Share on schedule at each week's end";
    overdue_households: "逾期未访住户", "Overdue households";
    due_since: "应访日期", "Due since";
    plan_interval: "间隔", "Interval";
}
