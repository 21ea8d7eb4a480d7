"""Service category codes (../shared/DOMAIN.md) with the labels parents see.

The 22 service codes come from the domain brief. Two more name the plan's own
rules rather than a service: ``eligibility`` (who counts as a migrant child,
clause (四)) and ``priority_care`` (the priority-care ledger, clause (五)).
"""

from __future__ import annotations

SERVICE_CATEGORIES: dict[str, str] = {
    "preschool": "学前教育",
    "compulsory_education": "义务教育入学",
    "exams": "中考高考",
    "student_aid": "学生资助",
    "medical_insurance": "居民医保",
    "medical_settlement": "异地就医结算",
    "immunization": "预防接种",
    "childcare": "托育服务",
    "health_literacy": "卫生应急与急救知识",
    "disability": "残疾儿童康复",
    "basic_living": "基本生活保障",
    "temporary_assistance": "临时救助",
    "housing": "住房保障",
    "transport": "交通出行",
    "charity": "慈善帮扶",
    "family_education": "家庭教育指导",
    "mental_health": "心理健康",
    "culture_activities": "精神文化生活",
    "online_safety": "网络环境",
    "urban_integration": "城市融入",
    "parent_employment": "父母就业",
    "child_protection": "监护与保护",
}

RULE_CATEGORIES: dict[str, str] = {
    "eligibility": "流动儿童认定",
    "priority_care": "重点关爱台账",
}

CATEGORIES: dict[str, str] = {**SERVICE_CATEGORIES, **RULE_CATEGORIES}


def label(code: str) -> str:
    """The Chinese label of a category code (the code itself if unknown)."""
    return CATEGORIES.get(code, code)
