"""Fictional persons for the demo and the benchmark (DOMAIN.md §10, PI-12).

Everything here is generated: Han names are sampled from Faker ``zh_CN``'s surname (weighted)
and given-name lists, combined a character at a time for variety; 5–10 % of the names are
fictional transliterations with the middle dot (阿依古丽·买买提); ID numbers are checksum-valid
with the county's address code (654223 for 沙湾 births, all before 2021); mobile numbers lie in a
fixed fictional 199 block. No row describes a real person.

``PersonGenerator`` yields unsaved ``Person`` objects with their derived columns computed
exactly as ``services._derive`` does; ``load_people_demo`` saves a few thousand of them with
``bulk_create`` and indexes them for search in batches. The benchmark (``people/bench.py``)
uses the same generator for a million rows.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from kexie.core.models import Region
from kexie.orgs.models import Organisation

from . import search
from .choices import EmployerCategory, PersonSource, ReviewStatus
from .models import Person, RegistrationTarget
from .services import _derive
from .synthetic import make_id_number

DEMO_SEED = 20260301

# Share of persons per county (乌苏 and 沙湾 are the most populous, 裕民 the smallest).
COUNTY_WEIGHTS = {
    "654201": 17,
    "654202": 24,
    "654203": 22,
    "654221": 15,
    "654224": 8,
    "654225": 5,
    "654226": 9,
}
COUNTY_SHORT = {
    "654201": "塔城市",
    "654202": "乌苏市",
    "654203": "沙湾市",
    "654221": "额敏县",
    "654224": "托里县",
    "654225": "裕民县",
    "654226": "和布克赛尔县",
}
# Ethnic groups of registered workers in Tacheng (GB/T 3304 code → weight). The registry skews
# Han compared with the population; the Turkic groups and 俄罗斯族 get transliterated names.
ETHNICITY_WEIGHTS = {
    "01": 70.0,  # 汉族
    "17": 7.0,  # 哈萨克族
    "03": 8.0,  # 回族
    "05": 2.5,  # 维吾尔族
    "02": 5.0,  # 蒙古族
    "31": 2.5,  # 达斡尔族
    "44": 0.5,  # 俄罗斯族
    "38": 1.0,  # 锡伯族
    "50": 0.3,  # 塔塔尔族
    "43": 0.2,  # 乌孜别克族
    "11": 3.0,  # 满族
}
TRANSLITERATED = {"17", "05", "50", "43"}
MONGOL = {"02"}
RUSSIAN = {"44"}

# Fictional name parts (common transliterations, combined at random).
TURKIC_MALE = [
    "努尔兰",
    "叶尔兰",
    "别克波拉提",
    "买买提",
    "艾力",
    "阿不都",
    "吐尔逊",
    "热合曼",
    "哈力木",
    "加尔肯",
    "吾拉力",
    "赛力克",
    "马合沙提",
    "阿达力",
    "叶尔江",
    "木拉提",
    "巴合提亚尔",
    "达吾列提",
    "叶尔波拉提",
    "阿斯哈尔",
    "努尔别克",
    "库尔班",
]
TURKIC_FEMALE = [
    "阿依古丽",
    "古丽米拉",
    "古丽娜尔",
    "阿娜尔",
    "热依拉",
    "迪娜",
    "阿依达娜",
    "加娜尔",
    "玛依拉",
    "努尔古丽",
    "再娜甫",
    "帕提古丽",
    "米娜瓦尔",
    "阿力米拉",
    "古丽巴哈尔",
    "阿依努尔",
    "沙吾列",
    "娜孜古丽",
]
MONGOL_NAMES = [
    "巴特尔",
    "其其格",
    "孟克",
    "乌云",
    "额尔敦",
    "萨仁",
    "布和",
    "图雅",
    "朝鲁",
    "娜仁",
    "宝音",
    "苏和",
]
RUSSIAN_GIVEN = ["伊万", "安德烈", "谢尔盖", "尼古拉", "娜塔莎", "柳德米拉", "伊琳娜", "瓦莲京娜"]
RUSSIAN_FAMILY = ["彼得罗夫", "伊万诺夫", "库兹涅佐夫", "索科洛夫", "波波夫"]

# Worker type (code table worker_type) → title codes, disciplines, expertise.
PROFILES = {
    "01": {  # 卫生技术人员
        "titles": [
            "231",
            "232",
            "233",
            "234",
            "235",
            "241",
            "243",
            "244",
            "251",
            "252",
            "253",
            "254",
            "255",
            "262",
            "263",
            "264",
        ],  # fmt: skip
        "disciplines": ["310", "320", "330", "350", "360"],
        "expertise": ["常见病诊疗", "妇幼保健", "中医针灸", "疾病预防控制", "护理", "医学检验"],
        "employers": ["{c}人民医院", "{c}中医医院", "{c}疾病预防控制中心", "{t}卫生院"],
        "category": EmployerCategory.PUBLIC_INSTITUTION,
    },
    "02": {  # 农业技术人员
        "titles": [
            "091",
            "092",
            "093",
            "094",
            "095",
            "102",
            "103",
            "104",
            "105",
            "112",
            "113",
            "114",
            "115",
        ],  # fmt: skip
        "disciplines": ["210", "220", "230"],
        "expertise": [
            "棉花高产栽培",
            "小麦病虫害防治",
            "牛羊疫病防控",
            "节水灌溉",
            "设施农业",
            "饲草种植",
            "蜂产品加工",
        ],  # fmt: skip
        "employers": ["{c}农业技术推广中心", "{c}畜牧兽医发展中心", "{t}农业发展服务中心"],
        "category": EmployerCategory.PUBLIC_INSTITUTION,
    },
    "03": {  # 科学研究人员
        "titles": ["611", "612", "613", "614"],
        "disciplines": ["170", "180", "210", "610", "150"],
        "expertise": ["荒漠植被恢复", "草原生态监测", "土壤改良", "气象灾害预警"],
        "employers": ["塔城地区农业科学研究所", "塔城地区林业科学研究所", "{c}气象局"],
        "category": EmployerCategory.PUBLIC_INSTITUTION,
    },
    "04": {  # 自然科学教学人员
        "titles": ["L03", "052", "053", "054", "055", "012", "013"],
        "disciplines": ["110", "140", "150", "180", "880"],
        "expertise": ["青少年科技教育", "物理实验教学", "信息技术教学", "生物课程教学"],
        "employers": ["{c}第二中学", "{c}第一小学", "{t}中心学校"],
        "category": EmployerCategory.PUBLIC_INSTITUTION,
    },
    "05": {  # 工程技术人员
        "titles": ["L01", "082", "083", "084", "085"],
        "disciplines": ["460", "470", "520", "560", "570"],
        "expertise": ["水利工程管理", "电力运维", "建筑结构设计", "软件开发", "机械维修"],
        "employers": ["{c}水利管理总站", "{c}住房和城乡建设局", "新疆塔城{n}科技有限公司"],
        "category": EmployerCategory.ENTERPRISE,
    },
    "06": {  # 科学技术普及人员
        "titles": ["999", "093", "083"],
        "disciplines": ["880", "210", "860"],
        "expertise": ["科普宣讲", "应急科普", "农村实用技术培训", "科普展教"],
        "employers": ["{t}综合文化站", "{t}人民政府"],
        "category": EmployerCategory.GOVERNMENT,
    },
}
WORKER_WEIGHTS = {"01": 26, "02": 24, "03": 4, "04": 26, "05": 12, "06": 8}
# Organisation codes (prefixes) an employer of each worker type is picked from, when it exists.
EMPLOYER_ORG_PREFIXES = {
    "01": ["XH654200002", "CY654200004"],
    "02": ["XH654200001", "XH654200003", "CY654200003", "NJ654201001"],
    "03": ["XH654200004", "XH654200007", "CY654200002"],
    "04": ["XX", "CY654200001"],
    "05": ["XH654200010", "XH654200011", "QY654202001", "YQ654221001"],
    "06": ["KX"],
}
EDUCATION_WEIGHTS = {"21": 50, "31": 25, "14": 10, "41": 9, "11": 1, "61": 5}
POLITICAL_WEIGHTS = {"13": 48, "01": 32, "03": 14, "12": 3, "10": 1, "05": 2}
STATUS_WEIGHTS = {
    ReviewStatus.VERIFIED: 84,
    ReviewStatus.PENDING: 8,
    ReviewStatus.PENDING_PREFECTURE: 2,
    ReviewStatus.RETURNED: 4,
    ReviewStatus.REJECTED: 2,
}
# Fields a quarter of the records lack, each with this chance.
_OFTEN_MISSING = (
    ("political_status", 0.6),
    ("education", 0.4),
    ("discipline", 0.6),
    ("title", 0.3),
    ("ethnicity", 0.2),
)
SOURCE_WEIGHTS = {PersonSource.IMPORT: 50, PersonSource.STAFF: 30, PersonSource.SELF: 20}


def _han_name_parts() -> tuple[list[str], list[float], list[str]]:
    try:
        from faker.providers.person.zh_CN import Provider
    except ImportError:  # pragma: no cover - Faker is a dev dependency
        surnames = {"王": 7, "李": 7, "张": 6.7, "刘": 5, "陈": 4.6, "杨": 3.2, "马": 1.5}
        given = list(
            "伟强磊洋勇军杰涛超明刚平辉鹏华飞鑫波斌宇浩凯秀英华慧巧美娜静淑惠珠翠雅芝玉萍红"
        )
        return list(surnames), list(surnames.values()), given
    surnames = dict(Provider.last_names)
    chars = sorted({ch for name in Provider.first_names for ch in name})
    return list(surnames), list(surnames.values()), chars


@dataclass
class Place:
    county_code: str
    township: Region
    organisation: Organisation


class PersonGenerator:
    """Unsaved, fictional ``Person`` objects with realistic distributions; deterministic for a
    seed. ``places`` are the townships with their associations; ``employers`` maps worker type
    to organisations an employer is picked from (the rest are typed-in employer names)."""

    def __init__(
        self,
        *,
        seed: int = DEMO_SEED,
        today: dt.date | None = None,
        phone_base: int = 9_910_000,
        phone_span: int = 10_000_000,
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
        self.today = today or timezone.localdate()
        self.now = timezone.now()
        self.surnames, self.surname_weights, self.given_chars = _han_name_parts()
        self.places = self._places()
        if not self.places:
            raise RuntimeError("No township associations: load the organisation demo first.")
        self.by_county: dict[str, list[Place]] = {}
        for place in self.places:
            self.by_county.setdefault(place.county_code, []).append(place)
        self.counties = [c for c in COUNTY_WEIGHTS if c in self.by_county]
        self.county_weights = [COUNTY_WEIGHTS[c] for c in self.counties]
        self.employers = self._employers()
        self.id_sequence: Counter = Counter()
        self.phone_base = phone_base
        self.phone_span = phone_span
        self.count = 0

    # --- reference data ---------------------------------------------------------------------

    @staticmethod
    def _places() -> list[Place]:
        orgs = (
            Organisation.objects.filter(kind="township_association", status="active")
            .select_related("region", "region__parent")
            .order_by("path")
        )
        places = []
        for org in orgs:
            region = org.region
            if region is None or region.level != "township" or region.parent is None:
                continue
            if region.parent.code not in COUNTY_WEIGHTS:
                continue
            places.append(Place(region.parent.code, region, org))
        return places

    @staticmethod
    def _employers() -> dict[str, list[Organisation]]:
        orgs = list(Organisation.objects.filter(status="active").exclude(kind="village"))
        result: dict[str, list[Organisation]] = {}
        for worker_type, prefixes in EMPLOYER_ORG_PREFIXES.items():
            result[worker_type] = [
                o
                for o in orgs
                if any(o.code.startswith(p) for p in prefixes)
                and (
                    worker_type != "06" or o.kind in ("county_association", "township_association")
                )
            ]
        return result

    # --- values ---------------------------------------------------------------------------

    def _pick(self, weights: dict):
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def han_name(self) -> str:
        surname = self.rng.choices(self.surnames, weights=self.surname_weights)[0]
        given_length = 1 if self.rng.random() < 0.28 else 2
        return surname + "".join(self.rng.choice(self.given_chars) for _ in range(given_length))

    def name_for(self, ethnicity: str, male: bool) -> str:
        rng = self.rng
        if ethnicity in TRANSLITERATED:
            given = rng.choice(TURKIC_MALE if male else TURKIC_FEMALE)
            if rng.random() < 0.12:  # some records carry the given name only
                return given
            return f"{given}·{rng.choice(TURKIC_MALE)}"
        if ethnicity in RUSSIAN:
            family = rng.choice(RUSSIAN_FAMILY)
            given = rng.choice(RUSSIAN_GIVEN)
            return f"{given}·{family if male else family + '娃'}"
        if ethnicity in MONGOL and rng.random() < 0.5:
            return rng.choice(MONGOL_NAMES)
        return self.han_name()

    def birth_date(self) -> dt.date:
        age = min(64, max(21, int(self.rng.gauss(41, 10))))
        days = self.rng.randrange(365)
        return dt.date(self.today.year - age - 1, 1, 1) + dt.timedelta(days=days)

    def id_number(self, county_code: str, birth: dt.date, male: bool) -> str:
        # 沙湾 was a county (654223) until 2021: everyone born before carries that code.
        code = "654223" if county_code == "654203" and birth.year < 2021 else county_code
        key = (code, birth, male)
        self.id_sequence[key] += 1
        return make_id_number(code, birth, self.id_sequence[key], male=male)

    def phone(self) -> str:
        """A mobile number in the fictional 199-0 block (10 million numbers)."""
        n = (self.phone_base + self.count) % self.phone_span
        return f"1990{n:07d}"

    def employer_text(self, worker_type: str, place: Place) -> str:
        pattern = self.rng.choice(PROFILES[worker_type]["employers"])
        return pattern.format(
            c=COUNTY_SHORT[place.county_code],
            t=place.township.name,
            n=self.rng.choice(["绿洲", "天山", "额河", "巴尔鲁克", "塔尔巴哈台"]),
        )

    def review(self, person: Person, status: str) -> None:
        rng = self.rng
        person.review_status = status
        if status in (ReviewStatus.PENDING, ReviewStatus.PENDING_PREFECTURE):
            person.source = PersonSource.SELF if rng.random() < 0.7 else person.source
            person.review_level = 1 if status == ReviewStatus.PENDING_PREFECTURE else 0
            if status == ReviewStatus.PENDING_PREFECTURE:
                person.reviewed_at = self.now - dt.timedelta(days=rng.randrange(1, 20))
            return
        # Verified, returned and rejected records were reviewed in the last four years, more
        # of them recently (the registration campaign picks up).
        days = int(min(1460, abs(rng.gauss(0, 520))))
        person.reviewed_at = self.now - dt.timedelta(days=days, minutes=rng.randrange(1440))
        person.review_level = 1
        if status == ReviewStatus.RETURNED:
            person.review_note = "请补充身份证号和职称证明。"
        elif status == ReviewStatus.REJECTED:
            person.review_note = "非本地区科技工作者。"
        if status == ReviewStatus.VERIFIED:
            reviewed = timezone.localtime(person.reviewed_at).date()
            roll = rng.random()
            if roll < 0.55:  # confirmed again since (常态化联系)
                span = max(0, (self.today - reviewed).days)
                person.last_confirmed_on = reviewed + dt.timedelta(days=rng.randint(0, span))
            elif roll < 0.97:
                person.last_confirmed_on = reviewed
            else:
                person.last_confirmed_on = None

    def person(self) -> Person:
        rng = self.rng
        self.count += 1
        county = rng.choices(self.counties, weights=self.county_weights)[0]
        place = rng.choice(self.by_county[county])
        ethnicity = self._pick(ETHNICITY_WEIGHTS)
        male = rng.random() < 0.56
        birth = self.birth_date()
        worker_type = self._pick(WORKER_WEIGHTS)
        profile = PROFILES[worker_type]
        title = rng.choice(profile["titles"])
        person = Person(
            organisation=place.organisation,
            township=place.township,
            name=self.name_for(ethnicity, male),
            gender="1" if male else "2",
            ethnicity=ethnicity,
            birth_date=birth,
            worker_type=worker_type,
            title=title,
            discipline=rng.choice(profile["disciplines"]),
            education=self._pick(EDUCATION_WEIGHTS),
            political_status=self._pick(POLITICAL_WEIGHTS),
            source=self._pick(SOURCE_WEIGHTS),
        )
        person.title_level = _TITLE_LEVELS.get(title, "")
        # Records are often incomplete (imports from old spreadsheets, hurried registrations).
        if rng.random() < 0.25:
            for name, share in _OFTEN_MISSING:
                if rng.random() < share:
                    setattr(person, name, "")
            if person.title == "":
                person.title_level = ""
        if rng.random() < 0.88:
            person.id_number = self.id_number(county, birth, male)
        if rng.random() < 0.93:
            person.phone = self.phone()
        if rng.random() < 0.8:
            person.expertise = rng.choice(profile["expertise"])
        candidates = self.employers.get(worker_type) or []
        if candidates and rng.random() < 0.55:
            person.employer = rng.choice(candidates)
            person.employer_category = (
                EmployerCategory.SOCIAL_ORGANISATION
                if person.employer.kind == "society"
                else profile["category"]
            )
        else:
            person.employer_text = self.employer_text(worker_type, place)
            person.employer_category = profile["category"]
        self.review(person, self._pick(STATUS_WEIGHTS))
        _derive(person)
        return person

    def people(self, n: int) -> Iterator[Person]:
        for _ in range(n):
            yield self.person()


_TITLE_LEVELS: dict[str, str] = {}


def _load_title_levels() -> None:
    from kexie.core.choices import CodeTable
    from kexie.core.models import CodeEntry

    _TITLE_LEVELS.clear()
    _TITLE_LEVELS.update(
        CodeEntry.objects.filter(table=CodeTable.TITLE).values_list("code", "level")
    )


def duplicate_of(gen: PersonGenerator, original: Person, how: str) -> Person:
    """A second record of the same human being, typed again (same phone, or same name, birth
    date and employer with a different or missing ID number)."""
    copy = Person(
        organisation=original.organisation,
        township=original.township,
        name=original.name,
        gender=original.gender,
        ethnicity=original.ethnicity,
        birth_date=original.birth_date,
        worker_type=original.worker_type,
        title=original.title,
        title_level=original.title_level,
        discipline=original.discipline,
        employer=original.employer,
        employer_text=original.employer_text,
        employer_category=original.employer_category,
        source=PersonSource.IMPORT,
    )
    if how == "phone":
        copy.phone = original.phone or gen.phone()
        original.phone = copy.phone
    elif gen.rng.random() < 0.5 and original.birth_date:
        male = original.gender == "1"
        code = "654201" if original.township.parent.code != "654201" else "654202"
        copy.id_number = gen.id_number(code, original.birth_date, male)
    gen.review(copy, ReviewStatus.PENDING)
    _derive(copy)
    _derive(original)
    return copy


def save_people(persons: list[Person], *, batch_size: int = 1000) -> int:
    """Insert persons with ``bulk_create`` and index them for search in the same batches."""
    done = 0
    for start in range(0, len(persons), batch_size):
        batch = persons[start : start + batch_size]
        Person.objects.bulk_create(batch, batch_size=batch_size)
        if batch and batch[0].pk is None:  # a backend that does not return ids
            raise RuntimeError("bulk_create returned no primary keys")
        search.index_persons(batch)
        done += len(batch)
    return done


@transaction.atomic
def load_people_demo(n: int = 3000, seed: int = DEMO_SEED, *, duplicates: int = 12) -> dict:
    """Load ``n`` fictional persons (plus ``duplicates`` pairs) and this year's targets.

    Idempotent: does nothing when any person exists. Needs the organisation demo
    (``portal.demo.load_demo``) and the code tables.
    """
    if Person.objects.exists():
        return {"persons": 0, "targets": 0}
    _load_title_levels()
    gen = PersonGenerator(seed=seed)
    persons = list(gen.people(n))
    originals = gen.rng.sample(persons, min(duplicates, len(persons)))
    copies = [
        duplicate_of(gen, original, "phone" if i % 2 == 0 else "name_birth_employer")
        for i, original in enumerate(originals)
    ]
    saved = save_people(persons + copies)
    targets = _demo_targets(persons, gen)
    return {"persons": saved, "targets": targets, "duplicates": len(copies)}


def _demo_targets(persons: list[Person], gen: PersonGenerator) -> int:
    """This year's targets: every county somewhat above or below its verified count."""
    year = gen.today.year
    verified: Counter = Counter()
    for person in persons:
        if person.review_status == ReviewStatus.VERIFIED:
            verified[person.township.parent.code] += 1
    made = 0
    counties = {o.code[2:]: o for o in Organisation.objects.filter(kind="county_association")}
    for code in gen.counties:
        org = counties.get(code)
        if org is None:
            continue
        factor = gen.rng.uniform(0.9, 1.5)
        target = max(50, int(round(verified[code] * factor / 50.0)) * 50)
        RegistrationTarget.objects.update_or_create(
            organisation=org, year=year, defaults={"target": target}
        )
        made += 1
    return made
