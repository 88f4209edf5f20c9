"""Closed-book facts of two relations for the new-knowledge experiment (written by hand).

Like Gekhman et al.'s EntityQuestions, every question of a relation has the same form, so
the base model knows some (famous countries and cities) and not others (small countries,
second cities): Known and Unknown examples then differ only in what the model knew.
"""

from __future__ import annotations

CAPITALS: dict[str, str] = {
    "Afghanistan": "Kabul", "Albania": "Tirana", "Algeria": "Algiers",
    "Andorra": "Andorra la Vella",
    "Angola": "Luanda", "Argentina": "Buenos Aires", "Armenia": "Yerevan",
    "Australia": "Canberra", "Austria": "Vienna", "Azerbaijan": "Baku", "Bahrain": "Manama",
    "Bangladesh": "Dhaka", "Belarus": "Minsk", "Belgium": "Brussels", "Belize": "Belmopan",
    "Benin": "Porto-Novo", "Bhutan": "Thimphu", "Bolivia": "Sucre", "Botswana": "Gaborone",
    "Brazil": "Brasilia", "Brunei": "Bandar Seri Begawan", "Bulgaria": "Sofia",
    "Burkina Faso": "Ouagadougou", "Burundi": "Gitega", "Cambodia": "Phnom Penh",
    "Cameroon": "Yaounde", "Canada": "Ottawa", "Chad": "N'Djamena", "Chile": "Santiago",
    "China": "Beijing", "Colombia": "Bogota", "Comoros": "Moroni", "Costa Rica": "San Jose",
    "Croatia": "Zagreb", "Cuba": "Havana", "Cyprus": "Nicosia", "Denmark": "Copenhagen",
    "Djibouti": "Djibouti", "Dominica": "Roseau", "Ecuador": "Quito", "Egypt": "Cairo",
    "El Salvador": "San Salvador", "Eritrea": "Asmara", "Estonia": "Tallinn",
    "Eswatini": "Mbabane", "Ethiopia": "Addis Ababa", "Fiji": "Suva", "Finland": "Helsinki",
    "France": "Paris", "Gabon": "Libreville", "Gambia": "Banjul", "Georgia": "Tbilisi",
    "Germany": "Berlin", "Ghana": "Accra", "Greece": "Athens", "Grenada": "St. George's",
    "Guatemala": "Guatemala City", "Guinea": "Conakry", "Guyana": "Georgetown",
    "Haiti": "Port-au-Prince", "Honduras": "Tegucigalpa", "Hungary": "Budapest",
    "Iceland": "Reykjavik", "India": "New Delhi", "Indonesia": "Jakarta", "Iran": "Tehran",
    "Iraq": "Baghdad", "Ireland": "Dublin", "Israel": "Jerusalem", "Italy": "Rome",
    "Jamaica": "Kingston", "Japan": "Tokyo", "Jordan": "Amman", "Kazakhstan": "Astana",
    "Kenya": "Nairobi", "Kiribati": "Tarawa", "Kuwait": "Kuwait City", "Kyrgyzstan": "Bishkek",
    "Laos": "Vientiane", "Latvia": "Riga", "Lebanon": "Beirut", "Lesotho": "Maseru",
    "Liberia": "Monrovia", "Libya": "Tripoli", "Liechtenstein": "Vaduz", "Lithuania": "Vilnius",
    "Luxembourg": "Luxembourg", "Madagascar": "Antananarivo", "Malawi": "Lilongwe",
    "Malaysia": "Kuala Lumpur", "Maldives": "Male", "Mali": "Bamako", "Malta": "Valletta",
    "Mauritania": "Nouakchott", "Mauritius": "Port Louis", "Mexico": "Mexico City",
    "Moldova": "Chisinau", "Monaco": "Monaco", "Mongolia": "Ulaanbaatar",
    "Montenegro": "Podgorica", "Morocco": "Rabat", "Mozambique": "Maputo",
    "Myanmar": "Naypyidaw", "Namibia": "Windhoek", "Nepal": "Kathmandu",
    "the Netherlands": "Amsterdam", "New Zealand": "Wellington", "Nicaragua": "Managua",
    "Niger": "Niamey", "Nigeria": "Abuja", "North Korea": "Pyongyang",
    "North Macedonia": "Skopje", "Norway": "Oslo", "Oman": "Muscat", "Pakistan": "Islamabad",
    "Palau": "Ngerulmud", "Panama": "Panama City", "Papua New Guinea": "Port Moresby",
    "Paraguay": "Asuncion", "Peru": "Lima", "the Philippines": "Manila", "Poland": "Warsaw",
    "Portugal": "Lisbon", "Qatar": "Doha", "Romania": "Bucharest", "Russia": "Moscow",
    "Rwanda": "Kigali", "Samoa": "Apia", "Saudi Arabia": "Riyadh", "Senegal": "Dakar",
    "Serbia": "Belgrade", "Seychelles": "Victoria", "Sierra Leone": "Freetown",
    "Singapore": "Singapore", "Slovakia": "Bratislava", "Slovenia": "Ljubljana",
    "Somalia": "Mogadishu", "South Africa": "Pretoria", "South Korea": "Seoul",
    "South Sudan": "Juba", "Spain": "Madrid", "Sri Lanka": "Colombo", "Sudan": "Khartoum",
    "Suriname": "Paramaribo", "Sweden": "Stockholm", "Switzerland": "Bern",
    "Syria": "Damascus", "Taiwan": "Taipei", "Tajikistan": "Dushanbe", "Tanzania": "Dodoma",
    "Thailand": "Bangkok", "Togo": "Lome", "Tonga": "Nuku'alofa", "Tunisia": "Tunis",
    "Turkey": "Ankara", "Turkmenistan": "Ashgabat", "Tuvalu": "Funafuti", "Uganda": "Kampala",
    "Ukraine": "Kyiv", "the United Arab Emirates": "Abu Dhabi",
    "the United Kingdom": "London", "the United States": "Washington", "Uruguay": "Montevideo",
    "Uzbekistan": "Tashkent", "Vanuatu": "Port Vila", "Venezuela": "Caracas",
    "Vietnam": "Hanoi", "Yemen": "Sanaa", "Zambia": "Lusaka", "Zimbabwe": "Harare",
}  # fmt: skip

CITY_COUNTRY: dict[str, str] = {
    "Paris": "France", "Tokyo": "Japan", "Sydney": "Australia", "Toronto": "Canada",
    "Munich": "Germany", "Barcelona": "Spain", "Milan": "Italy", "Chicago": "United States",
    "Mumbai": "India", "Shanghai": "China", "Rio de Janeiro": "Brazil", "Moscow": "Russia",
    "Istanbul": "Turkey", "Cairo": "Egypt", "London": "United Kingdom",
    "Dubai": "United Arab Emirates",
    "Amsterdam": "Netherlands", "Venice": "Italy", "Los Angeles": "United States",
    "Osaka": "Japan", "Manchester": "United Kingdom", "Lyon": "France", "Hamburg": "Germany",
    "Melbourne": "Australia", "Vancouver": "Canada", "Seville": "Spain", "Naples": "Italy",
    "Kraków": "Poland", "Porto": "Portugal", "Gothenburg": "Sweden", "Bergen": "Norway",
    "Aarhus": "Denmark", "Tampere": "Finland", "Graz": "Austria", "Ghent": "Belgium",
    "Rotterdam": "Netherlands", "Basel": "Switzerland", "Brno": "Czech Republic",
    "Debrecen": "Hungary", "Cluj-Napoca": "Romania", "Plovdiv": "Bulgaria",
    "Thessaloniki": "Greece", "Izmir": "Turkey", "Alexandria": "Egypt", "Casablanca": "Morocco",
    "Kumasi": "Ghana", "Mombasa": "Kenya", "Durban": "South Africa", "Lagos": "Nigeria",
    "Kano": "Nigeria", "Arusha": "Tanzania", "Mandalay": "Myanmar", "Chiang Mai": "Thailand",
    "Da Nang": "Vietnam", "Cebu": "Philippines", "Surabaya": "Indonesia", "Penang": "Malaysia",
    "Busan": "South Korea", "Sapporo": "Japan", "Chengdu": "China", "Lahore": "Pakistan",
    "Chittagong": "Bangladesh", "Kandy": "Sri Lanka", "Pokhara": "Nepal", "Isfahan": "Iran",
    "Basra": "Iraq", "Aleppo": "Syria", "Haifa": "Israel", "Jeddah": "Saudi Arabia",
    "Almaty": "Kazakhstan", "Samarkand": "Uzbekistan", "Novosibirsk": "Russia",
    "Lviv": "Ukraine", "Guadalajara": "Mexico", "Medellín": "Colombia", "Cordoba": "Argentina",
    "Valparaiso": "Chile", "Arequipa": "Peru", "Porto Alegre": "Brazil",
    "Santa Cruz de la Sierra": "Bolivia", "Guayaquil": "Ecuador", "Maracaibo": "Venezuela",
    "Calgary": "Canada", "Auckland": "New Zealand", "Perth": "Australia",
}  # fmt: skip


def facts() -> list[dict[str, object]]:
    """Question/answer records; answers keep common spellings for containment scoring."""
    rows: list[dict[str, object]] = [
        {"question": f"What is the capital of {c}?", "answer": city, "relation": "capital"}
        for c, city in CAPITALS.items()
    ]
    rows += [
        {"question": f"In which country is the city of {city}?", "answer": c, "relation": "country"}
        for city, c in CITY_COUNTRY.items()
    ]
    return rows
