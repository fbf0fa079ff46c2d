# ruff: noqa: RUF001 - other scripts and full-width punctuation are the point of this file
"""Hand-written texts for the readability check (``model_contract.readability``).

``UNREADABLE``: texts the English IMDB model cannot read - reviews in 18 other languages and
scripts, gibberish, symbols, emoji, code, URLs and bare numbers. ``ENGLISH_SHORT``: short English
reviews (films, products, restaurants) that must stay readable. ``MIXED``: mostly-English texts
with a foreign phrase, an emoji, a URL or a typo, which must stay readable too. Written for this
check, not taken from any dataset; the behavioural suite (tests/model/behaviour_suite.py) is a
second English set.
"""

from __future__ import annotations

# ISO 639-1 code -> reviews (films, products, restaurants), positive and negative.
FOREIGN: dict[str, list[str]] = {
    "de": [
        "Der Film war langweilig und viel zu lang, die Schauspieler waren schrecklich.",
        "Ein wunderbarer Film, ich habe jede Minute genossen.",
        "Die Handlung ist vorhersehbar und das Ende enttäuschend.",
        "Das Essen war kalt und der Kellner unfreundlich.",
        "Sehr gutes Produkt, schnelle Lieferung, gerne wieder.",
        "Absolut sehenswert, die Musik ist großartig!",
    ],
    "fr": [
        "Quelle perte de temps, le scénario est nul et je me suis ennuyé du début à la fin.",
        "Un film magnifique, les acteurs sont excellents.",
        "Je n'ai jamais vu un navet pareil.",
        "Le service était lent mais les plats étaient délicieux.",
        "Produit de mauvaise qualité, cassé au bout de deux jours.",
        "Une belle histoire, drôle et touchante.",
    ],
    "es": [
        "El guion no tiene sentido y el final es horrible, perdí mi dinero.",
        "Una película preciosa, me encantó de principio a fin.",
        "Los actores son malísimos y la historia aburrida.",
        "La comida estaba riquísima y el servicio fue excelente.",
        "No lo recomiendo, llegó roto y tarde.",
        "Me reí muchísimo, es una comedia genial.",
    ],
    "it": [
        "Un film noioso, la trama è confusa e gli attori sono pessimi.",
        "Bellissimo, l'ho visto tre volte e mi piace sempre di più.",
        "Il cibo era ottimo ma il conto troppo salato.",
        "Che delusione, mi aspettavo molto di più da questo regista.",
        "Prodotto fantastico, lo consiglio a tutti.",
        "La colonna sonora è meravigliosa.",
    ],
    "pt": [
        "O filme é muito chato e os atores são fracos.",
        "Adorei a história, é emocionante do começo ao fim.",
        "Não gostei nada, uma perda de tempo e de dinheiro.",
        "A comida chegou fria e o atendimento foi péssimo.",
        "Produto excelente, chegou antes do prazo.",
        "Uma obra-prima do cinema brasileiro.",
    ],
    "nl": [
        "De film was saai en veel te lang.",
        "Wat een prachtige film, ik heb genoten van elke minuut.",
        "Het eten was heerlijk en de bediening vriendelijk.",
        "Slechte kwaliteit, na een week al kapot.",
        "De acteurs spelen geweldig maar het verhaal is zwak.",
        "Niet aan te raden, zonde van het geld.",
    ],
    "sv": [
        "Filmen var tråkig och skådespelarna var dåliga.",
        "En fantastisk film som jag gärna ser igen.",
        "Maten var god men servitören var otrevlig.",
        "Jag rekommenderar den här produkten varmt.",
    ],
    "pl": [
        "Ten film był nudny i zdecydowanie za długi.",
        "Wspaniały film, aktorzy grają znakomicie.",
        "Jedzenie było zimne, a obsługa bardzo powolna.",
        "Polecam, świetna jakość za rozsądną cenę.",
    ],
    "tr": [
        "Film çok sıkıcıydı, oyuncular berbattı.",
        "Harika bir film, herkese tavsiye ederim.",
        "Yemekler lezzetliydi ama servis çok yavaştı.",
        "Ürün iki gün sonra bozuldu, hiç memnun kalmadım.",
    ],
    "id": [
        "Filmnya sangat membosankan dan ceritanya tidak jelas.",
        "Film yang luar biasa, saya sangat menyukainya.",
        "Makanannya enak dan pelayanannya ramah.",
        "Barangnya rusak waktu sampai, sangat kecewa.",
    ],
    "vi": [
        "Bộ phim này rất nhàm chán và quá dài.",
        "Phim hay tuyệt vời, diễn viên diễn rất tốt.",
        "Đồ ăn ngon nhưng phục vụ hơi chậm.",
        "Sản phẩm kém chất lượng, không nên mua.",
    ],
    "ru": [
        "Фильм скучный, актёры играют ужасно.",
        "Отличный фильм, посмотрю ещё раз.",
        "Еда была холодной, а официант грубым.",
        "Прекрасная история, очень трогательно.",
        "Не советую, пустая трата времени.",
        "Качество товара отличное, доставка быстрая.",
    ],
    "uk": [
        "Фільм дуже нудний, я ледве досидів до кінця.",
        "Чудовий фільм, раджу всім подивитися.",
        "Смачна їжа і привітний персонал.",
    ],
    "el": [
        "Η ταινία ήταν βαρετή και πολύ μεγάλη.",
        "Υπέροχη ταινία, την απόλαυσα πολύ.",
        "Το φαγητό ήταν νόστιμο και η εξυπηρέτηση άψογη.",
        "Δεν την προτείνω, χάσιμο χρόνου.",
    ],
    "ar": [
        "الفيلم ممل جدا والتمثيل سيء.",
        "فيلم رائع، أنصح الجميع بمشاهدته.",
        "الطعام لذيذ والخدمة ممتازة.",
        "منتج سيء ولا أنصح بشرائه.",
    ],
    "he": [
        "הסרט היה משעמם וארוך מדי.",
        "סרט נהדר, נהניתי מכל רגע.",
        "האוכל היה טעים והשירות מצוין.",
        "מוצר גרוע, לא ממליץ.",
    ],
    "hi": [
        "यह फिल्म बहुत उबाऊ थी।",
        "शानदार फिल्म, सभी को देखनी चाहिए।",
        "खाना स्वादिष्ट था लेकिन सेवा धीमी थी।",
        "बेकार उत्पाद, पैसे की बर्बादी।",
    ],
    "th": [
        "หนังเรื่องนี้น่าเบื่อมาก",
        "หนังสนุกมาก แนะนำให้ดู",
        "อาหารอร่อยแต่บริการช้า",
        "สินค้าคุณภาพแย่มาก",
    ],
    "zh": [
        "这部电影太无聊了，演员的表演很差。",
        "非常精彩的电影，强烈推荐！",
        "菜很好吃，服务也很周到。",
        "质量太差了，用了两天就坏了。",
        "剧情拖沓，浪费时间。",
        "這部電影非常感人，值得一看。",
    ],
    "ja": [
        "この映画はとても退屈でした。",
        "素晴らしい映画で、最後まで楽しめました。",
        "料理は美味しかったが、店員の態度が悪かった。",
        "二度と買いません。すぐに壊れました。",
        "ストーリーが感動的で泣いてしまった。",
    ],
    "ko": [
        "이 영화는 정말 지루했어요.",
        "최고의 영화, 강력 추천합니다!",
        "음식은 맛있었지만 서비스가 느렸어요.",
        "배송도 빠르고 품질도 좋아요.",
        "시간 낭비였어요. 보지 마세요.",
    ],
}

# Not language at all, or not prose the model can read.
NOT_TEXT: dict[str, list[str]] = {
    "gibberish": [
        "asdkjh qwpeoiru zmxncb",
        "sdfkjh sdkfjh weuyr",
        "lkjhg fdsa poiuy",
        "xqzv bnmkl wqrtp",
        "qwertyuiop asdfghjkl",
        "blorp zingle wubbanoot",
        "aaaaaaaaaaaaaaaaaaaa",
        "hjkl hjkl hjkl hjkl",
        "zzzzz mmmmm",
        "fjdksla;fjdksla;",
        "gggggggg hhhhhhhh",
        "jdjdjdjd kdkdkdkd",
    ],
    "symbols": [
        "!!!!!!!!",
        "????",
        "...",
        "***** *****",
        "#$%&@!",
        "-_-",
        "<<<>>>",
        "~~~~~~~~~~",
        "=) :( :-D ;-)",
        "§§§ ¶¶¶",
    ],
    "emoji": [
        "👍👍👍",
        "😍😍😍😍",
        "🤮",
        "🍿🎬⭐⭐⭐⭐⭐",
        "💩💩",
        "❤️❤️❤️",
        "😡😡😡 👎",
        "🙂",
    ],
    "code": [
        '{"rating": 5, "ok": true}',
        "def score(x): return model.predict(x)[0]",
        "for (int i = 0; i < n; i++) { sum += a[i]; }",
        "SELECT * FROM reviews WHERE stars > 3;",
        "<div class='review'><span>5</span></div>",
        "import numpy as np; np.zeros((3, 4))",
        "console.log(JSON.stringify({a: 1, b: [2, 3]}));",
        "if x == nil { return err }",
        "x = [i**2 for i in range(10)]",
        "SELECT title FROM movies;",
        "print('hello world')",
        "$ docker compose up -d",
        "from collections import Counter",
    ],
    "urls": [
        "https://www.imdb.com/title/tt0111161/",
        "http://example.com/reviews?id=12345&page=2",
        "www.rottentomatoes.com/m/the_matrix",
        "https://youtu.be/dQw4w9WgXcQ",
        "ftp://files.example.org/pub/movie_list.txt",
        "mailto:someone@example.com",
    ],
    "numbers": [
        "12345",
        "3.14159 2.71828",
        "0000 1111 2222",
        "42",
        "2024-01-15 13:45:00",
        "+1 (555) 123-4567",
        "10 20 30 40 50",
    ],
}

# English one-liners and review sentences that must stay readable.
ENGLISH_SHORT: list[str] = [
    "Loved it!",
    "10/10 would recommend",
    "not bad at all",
    "Great movie.",
    "Terrible.",
    "Boring.",
    "What a waste of time.",
    "Best film of the year!",
    "I hated every minute of it.",
    "Brilliant acting, weak plot.",
    "Worth watching.",
    "Never again.",
    "It was okay, nothing special.",
    "A masterpiece.",
    "Awful, just awful.",
    "Absolutely loved the soundtrack.",
    "So funny, I cried laughing.",
    "Too long and too slow.",
    "My kids adored it.",
    "Five stars!",
    "One star. Avoid.",
    "Not my cup of tea.",
    "Pretty good overall.",
    "The ending ruined it for me.",
    "Beautifully shot, but dull.",
    "I fell asleep halfway through.",
    "Highly recommended.",
    "Surprisingly good!",
    "Meh, it was fine I guess.",
    "Could have been better.",
    # products
    "The battery lasts all day, very happy with it.",
    "Broke after two days, cheap plastic.",
    "Great value for the price.",
    "Does exactly what it says.",
    "Arrived damaged and customer service never answered.",
    "Comfortable shoes, I wear them every day.",
    "The sound quality is amazing for such a small speaker.",
    "Stopped working after a week. Returned it.",
    "Easy to set up and works perfectly.",
    "Flimsy and overpriced.",
    "The screen scratches too easily.",
    "Best purchase I made this year.",
    # restaurants
    "The food was delicious and the staff were friendly.",
    "Cold pizza and rude waiters.",
    "Lovely atmosphere, great wine list.",
    "We waited an hour for our food.",
    "The best burger in town!",
    "Overpriced and bland.",
    "Fresh ingredients, generous portions, will come back.",
    "The soup was salty and the bread was stale.",
    "Friendly service and a cozy place.",
    "Dirty tables and slow service.",
]

# Mostly English, with something the model cannot read mixed in.
MIXED: list[str] = [
    "Loved it 😍😍😍",
    "Great movie 👍",
    "Terrible film!!! 👎👎",
    "The film was c'est la vie in the best way, I loved it.",
    "A wonderful film, muy bien hecho, with a great cast.",
    "The Japanese title is 千と千尋の神隠し and it is a beautiful film.",
    "Saw it in Berlin, the German dub was fine and the story was moving.",
    "Check the trailer at https://example.com/trailer - the movie is great.",
    "Best film ever #cinema #mustwatch",
    "Sooooo boring, I want my money back!!!",
    "The director's use of mise en scène is brilliant, a real joy to watch.",
    "Great food, merci beaucoup to the chef!",
    "The sushi was fresh and the miso soup was excellent.",
    "Gracias to the staff, the tacos were amazing.",
    "My rating: 9/10, a great story with a wonderful ending.",
    "Bought it on Amazon for $25, works great.",
    "The film's Russian dialogue (Да, конечно) was subtitled well, loved it.",
    "Awful acting, zzzzz, fell asleep.",
]

# One-line reviews in other languages, written after the checks above were set: three, four or
# five words, where one English-looking word ("do", "a", "film") weighs a lot.
SHORT_FOREIGN: list[str] = [
    "Der Film war langweilig und viel zu lang.", "Ich fand die Schauspieler großartig.",
    "La película fue aburrida.", "Me encantó la música de esta película.",
    "Le film était nul, je me suis endormi.", "Très bon film, je le recommande.",
    "Il film era noioso.", "Bellissimo film, attori bravissimi.",
    "O filme foi ótimo.", "Não gostei do final.",
    "De acteurs waren goed maar het verhaal niet.", "Geweldige film!",
    "Filmen var tråkig.", "Skuespillerne var fantastiske.", "Elokuva oli hyvä.",
    "Film był nudny i za długi.", "Фильм был скучным.", "Чудовий фільм!",
    "Η ταινία ήταν υπέροχη.", "Film çok güzeldi, herkese tavsiye ederim.",
    "A film unalmas volt.", "Filmul a fost plictisitor.", "Film byl skvělý.",
    "这部电影很无聊。", "この映画は素晴らしかった。", "영화가 정말 재미있었어요.",
    "الفيلم كان رائعا", "הסרט היה משעמם", "फिल्म बहुत अच्छी थी।", "ภาพยนตร์เรื่องนี้สนุกมาก",
    "Phim này rất hay.", "Filem ini sangat bagus.", "Pelikula ay maganda.",
    "Filmu ilikuwa nzuri sana.", "Kvikmyndin var frábær.", "Ffilm da iawn.",
    "Filma estis enuiga.", "Filmas buvo nuobodus.", "Filma bija garlaicīga.",
    "Film je bil dolgočasen.",
]  # fmt: skip


def unreadable() -> list[str]:
    """Every text the model cannot read."""
    groups = (*FOREIGN.values(), SHORT_FOREIGN, *NOT_TEXT.values())
    return [t for texts in groups for t in texts]
