"""Team and player names per league: ``"display name|slug abbreviation|socket name"`` lines.

The display name is what Gamma titles and moneyline outcomes use (nicknames for US pro leagues,
"School Mascot" for college, club names for soccer, player names for tennis and MMA); the
abbreviation is the lower-case ``/teams`` abbreviation that appears in event slugs; the socket name
is what the sports WebSocket sends as ``homeTeam``/``awayTeam`` (upper-case abbreviations for US
leagues, full names elsewhere).
"""

from __future__ import annotations

_NBA = """Hawks|atl|ATL
Celtics|bos|BOS
Nets|bkn|BKN
Hornets|cha|CHA
Bulls|chi|CHI
Cavaliers|cle|CLE
Mavericks|dal|DAL
Nuggets|den|DEN
Pistons|det|DET
Warriors|gsw|GSW
Rockets|hou|HOU
Pacers|ind|IND
Clippers|lac|LAC
Lakers|lal|LAL
Grizzlies|mem|MEM
Heat|mia|MIA
Bucks|mil|MIL
Timberwolves|min|MIN
Pelicans|nop|NOP
Knicks|nyk|NYK
Thunder|okc|OKC
Magic|orl|ORL
76ers|phi|PHI
Suns|phx|PHX
Trail Blazers|por|POR
Kings|sac|SAC
Spurs|sas|SAS
Raptors|tor|TOR
Jazz|uta|UTA
Wizards|was|WAS"""

_NFL = """Cardinals|ari|ARI
Falcons|atl|ATL
Ravens|bal|BAL
Bills|buf|BUF
Panthers|car|CAR
Bears|chi|CHI
Bengals|cin|CIN
Browns|cle|CLE
Cowboys|dal|DAL
Broncos|den|DEN
Lions|det|DET
Packers|gb|GB
Texans|hou|HOU
Colts|ind|IND
Jaguars|jax|JAX
Chiefs|kc|KC
Raiders|lv|LV
Chargers|lac|LAC
Rams|la|LA
Dolphins|mia|MIA
Vikings|min|MIN
Patriots|ne|NE
Saints|no|NO
Giants|nyg|NYG
Jets|nyj|NYJ
Eagles|phi|PHI
Steelers|pit|PIT
49ers|sf|SF
Seahawks|sea|SEA
Buccaneers|tb|TB
Titans|ten|TEN
Commanders|was|WAS"""

_NHL = """Ducks|ana|ANA
Bruins|bos|BOS
Sabres|buf|BUF
Flames|cgy|CGY
Hurricanes|car|CAR
Blackhawks|chi|CHI
Avalanche|col|COL
Blue Jackets|cbj|CBJ
Stars|dal|DAL
Red Wings|det|DET
Oilers|edm|EDM
Panthers|fla|FLA
Kings|la|LA
Wild|min|MIN
Canadiens|mtl|MTL
Predators|nsh|NSH
Devils|nj|NJ
Islanders|nyi|NYI
Rangers|nyr|NYR
Senators|ott|OTT
Flyers|phi|PHI
Penguins|pit|PIT
Sharks|sj|SJ
Kraken|sea|SEA
Blues|stl|STL
Lightning|tb|TB
Maple Leafs|tor|TOR
Mammoth|uta|UTA
Canucks|van|VAN
Golden Knights|vgk|VGK
Capitals|wsh|WSH
Jets|wpg|WPG"""

_MLB = """Diamondbacks|ari|ARI
Braves|atl|ATL
Orioles|bal|BAL
Red Sox|bos|BOS
Cubs|chc|CHC
White Sox|cws|CWS
Reds|cin|CIN
Guardians|cle|CLE
Rockies|col|COL
Tigers|det|DET
Astros|hou|HOU
Royals|kc|KC
Angels|laa|LAA
Dodgers|lad|LAD
Marlins|mia|MIA
Brewers|mil|MIL
Twins|min|MIN
Mets|nym|NYM
Yankees|nyy|NYY
Athletics|ath|ATH
Phillies|phi|PHI
Pirates|pit|PIT
Padres|sd|SD
Giants|sf|SF
Mariners|sea|SEA
Cardinals|stl|STL
Rays|tb|TB
Rangers|tex|TEX
Blue Jays|tor|TOR
Nationals|wsh|WSH"""

_CBB = """Drake Bulldogs|drake|DRAKE
Indiana State Sycamores|indst|INDST
Eastern Illinois Panthers|eill|EILL
South Carolina Gamecocks|sc|SC
California Baptist Lancers|cabap|CABAP
Duke Blue Devils|duke|DUKE
North Carolina Tar Heels|unc|UNC
Kentucky Wildcats|uk|UK
Kansas Jayhawks|kan|KAN
Gonzaga Bulldogs|gonz|GONZ
Houston Cougars|hou|HOU
Purdue Boilermakers|pur|PUR
Arizona Wildcats|ariz|ARIZ
Auburn Tigers|aub|AUB
Alabama Crimson Tide|ala|ALA
Tennessee Volunteers|tenn|TENN
Baylor Bears|bay|BAY
Texas Longhorns|tex|TEX
Michigan State Spartans|msu|MSU
Michigan Wolverines|mich|MICH
UConn Huskies|conn|CONN
Villanova Wildcats|vill|VILL
Creighton Bluejays|crei|CREI
Marquette Golden Eagles|marq|MARQ
Xavier Musketeers|xav|XAV
Iowa State Cyclones|iast|IAST
Iowa Hawkeyes|iowa|IOWA
Illinois Fighting Illini|ill|ILL
Wisconsin Badgers|wis|WIS
Ohio State Buckeyes|osu|OSU
Indiana Hoosiers|ind|IND
UCLA Bruins|ucla|UCLA
USC Trojans|usc|USC
Oregon Ducks|ore|ORE
Arkansas Razorbacks|ark|ARK
Florida Gators|fla|FLA
Texas Tech Red Raiders|ttu|TTU
Saint Mary's Gaels|smc|SMC
San Diego State Aztecs|sdsu|SDSU
Memphis Tigers|mem|MEM
Dayton Flyers|day|DAY
Virginia Cavaliers|uva|UVA
Louisville Cardinals|lou|LOU
Syracuse Orange|syr|SYR
Miami Hurricanes|mia|MIA
Clemson Tigers|clem|CLEM
Wake Forest Demon Deacons|wake|WAKE
Pittsburgh Panthers|pitt|PITT
NC State Wolfpack|ncst|NCST
Georgia Bulldogs|uga|UGA
Mississippi State Bulldogs|msst|MSST
Ole Miss Rebels|miss|MISS
LSU Tigers|lsu|LSU
Missouri Tigers|mizz|MIZZ
Oklahoma Sooners|okla|OKLA
Oklahoma State Cowboys|okst|OKST
TCU Horned Frogs|tcu|TCU
BYU Cougars|byu|BYU
Utah Utes|utah|UTAH
Colorado Buffaloes|colo|COLO
Cincinnati Bearcats|cin|CIN
West Virginia Mountaineers|wvu|WVU
Kansas State Wildcats|kst|KST
Nebraska Cornhuskers|neb|NEB
Minnesota Golden Gophers|minn|MINN
Northwestern Wildcats|nw|NW
Rutgers Scarlet Knights|rutg|RUTG
Maryland Terrapins|md|MD
Penn State Nittany Lions|psu|PSU
Seton Hall Pirates|hall|HALL
Providence Friars|prov|PROV
St. John's Red Storm|stj|STJ
Butler Bulldogs|but|BUT
Georgetown Hoyas|gtwn|GTWN
DePaul Blue Demons|dep|DEP
Wichita State Shockers|wich|WICH
Belmont Bruins|bel|BEL
Bradley Braves|brad|BRAD
Northern Iowa Panthers|uni|UNI
Loyola Chicago Ramblers|luc|LUC
Murray State Racers|murr|MURR
VCU Rams|vcu|VCU
Davidson Wildcats|dav|DAV
Richmond Spiders|rich|RICH
Saint Louis Billikens|slu|SLU
New Mexico Lobos|unm|UNM
Boise State Broncos|bois|BOIS
Nevada Wolf Pack|nev|NEV
Utah State Aggies|usu|USU
Colorado State Rams|csu|CSU
Grand Canyon Antelopes|gcu|GCU
Florida Atlantic Owls|fau|FAU
Charleston Cougars|cofc|COFC
Vermont Catamounts|uvm|UVM
Furman Paladins|fur|FUR
Samford Bulldogs|sam|SAM
Liberty Flames|lib|LIB
High Point Panthers|hpu|HPU
Blackburn Beavers|blkbn|BLKBN
Akron Zips|akr|AKR"""

_CFB = """Alabama Crimson Tide|ala|ALA
Georgia Bulldogs|uga|UGA
Ohio State Buckeyes|osu|OSU
Michigan Wolverines|mich|MICH
Texas Longhorns|tex|TEX
Oregon Ducks|ore|ORE
Penn State Nittany Lions|psu|PSU
Notre Dame Fighting Irish|nd|ND
LSU Tigers|lsu|LSU
Clemson Tigers|clem|CLEM
Florida State Seminoles|fsu|FSU
Miami Hurricanes|mia|MIA
Oklahoma Sooners|okla|OKLA
Tennessee Volunteers|tenn|TENN
USC Trojans|usc|USC
Utah Utes|utah|UTAH
Washington Huskies|wash|WASH
Ole Miss Rebels|miss|MISS
Texas A&M Aggies|tamu|TAMU
Auburn Tigers|aub|AUB
Wisconsin Badgers|wis|WIS
Iowa Hawkeyes|iowa|IOWA
Kansas State Wildcats|kst|KST
Missouri Tigers|mizz|MIZZ
Louisville Cardinals|lou|LOU
SMU Mustangs|smu|SMU
Arizona State Sun Devils|asu|ASU
Boise State Broncos|bois|BOIS
Indiana Hoosiers|ind|IND
Colorado Buffaloes|colo|COLO
BYU Cougars|byu|BYU
Iowa State Cyclones|iast|IAST
Nebraska Cornhuskers|neb|NEB
South Carolina Gamecocks|sc|SC
Florida Gators|fla|FLA
Kentucky Wildcats|uk|UK
Virginia Tech Hokies|vt|VT
North Carolina Tar Heels|unc|UNC
Baylor Bears|bay|BAY
TCU Horned Frogs|tcu|TCU"""

_EPL = """Arsenal FC|ars|Arsenal FC
Aston Villa FC|avl|Aston Villa FC
AFC Bournemouth|bou|AFC Bournemouth
Brentford FC|bre|Brentford FC
Brighton & Hove Albion FC|bri|Brighton & Hove Albion FC
Burnley FC|bur|Burnley FC
Chelsea FC|che|Chelsea FC
Crystal Palace FC|cry|Crystal Palace FC
Everton FC|eve|Everton FC
Fulham FC|ful|Fulham FC
Leeds United FC|lee|Leeds United FC
Liverpool FC|liv|Liverpool FC
Manchester City FC|mac|Manchester City FC
Manchester United FC|mun|Manchester United FC
Newcastle United FC|new|Newcastle United FC
Nottingham Forest FC|not|Nottingham Forest FC
Sunderland AFC|sun|Sunderland AFC
Tottenham Hotspur FC|tot|Tottenham Hotspur FC
West Ham United FC|wes|West Ham United FC
Wolverhampton Wanderers FC|wol|Wolverhampton Wanderers FC"""

_LAL = """Deportivo Alavés|ala|Deportivo Alavés
Athletic Club|ath|Athletic Club
Club Atlético de Madrid|atm|Club Atlético de Madrid
FC Barcelona|bar|FC Barcelona
RC Celta de Vigo|cel|RC Celta de Vigo
Elche CF|elc|Elche CF
RCD Espanyol de Barcelona|esp|RCD Espanyol de Barcelona
Getafe CF|get|Getafe CF
Girona FC|gir|Girona FC
Levante UD|lev|Levante UD
RCD Mallorca|mal|RCD Mallorca
CA Osasuna|osa|CA Osasuna
Real Oviedo|ovi|Real Oviedo
Rayo Vallecano de Madrid|ray|Rayo Vallecano de Madrid
Real Betis Balompié|bet|Real Betis Balompié
Real Madrid CF|rma|Real Madrid CF
Real Sociedad de Fútbol|rso|Real Sociedad de Fútbol
Sevilla FC|sev|Sevilla FC
Valencia CF|val|Valencia CF
Villarreal CF|vil|Villarreal CF"""

_ATP = """Jannik Sinner|sinner|Jannik Sinner
Carlos Alcaraz|alcaraz|Carlos Alcaraz
Alexander Zverev|zverev|Alexander Zverev
Novak Djokovic|djokovic|Novak Djokovic
Taylor Fritz|fritz|Taylor Fritz
Jack Draper|draper|Jack Draper
Lorenzo Musetti|musetti|Lorenzo Musetti
Alex de Minaur|deminaur|Alex de Minaur
Holger Rune|rune|Holger Rune
Ben Shelton|shelton|Ben Shelton
Daniil Medvedev|medvedev|Daniil Medvedev
Casper Ruud|ruud|Casper Ruud
Tommy Paul|paul|Tommy Paul
Frances Tiafoe|tiafoe|Frances Tiafoe
Andrey Rublev|rublev|Andrey Rublev
Grigor Dimitrov|dimitrov|Grigor Dimitrov
Arthur Fils|fils|Arthur Fils
Jakub Mensik|mensik|Jakub Mensik
Karen Khachanov|khachanov|Karen Khachanov
Ugo Humbert|humbert|Ugo Humbert
Felix Auger-Aliassime|augeraliassime|Felix Auger-Aliassime
Alexander Bublik|bublik|Alexander Bublik
Quentin Halys|halys|Quentin Halys
Sebastian Korda|korda|Sebastian Korda
Francisco Cerundolo|cerundolo|Francisco Cerundolo
Alejandro Davidovich Fokina|davidovich|Alejandro Davidovich Fokina
Denis Shapovalov|shapovalov|Denis Shapovalov
Stefanos Tsitsipas|tsitsipas|Stefanos Tsitsipas
Hubert Hurkacz|hurkacz|Hubert Hurkacz
Flavio Cobolli|cobolli|Flavio Cobolli
Joao Fonseca|fonseca|Joao Fonseca
Tomas Machac|machac|Tomas Machac
Brandon Nakashima|nakashima|Brandon Nakashima
Alex Michelsen|michelsen|Alex Michelsen
Learner Tien|tien|Learner Tien
Jiri Lehecka|lehecka|Jiri Lehecka
Alejandro Tabilo|tabilo|Alejandro Tabilo
Sebastian Baez|baez|Sebastian Baez
Tallon Griekspoor|griekspoor|Tallon Griekspoor
Matteo Berrettini|berrettini|Matteo Berrettini
Giovanni Mpetshi Perricard|mpetshiperricard|Giovanni Mpetshi Perricard
Nuno Borges|borges|Nuno Borges
Gael Monfils|monfils|Gael Monfils
Cameron Norrie|norrie|Cameron Norrie
Roberto Bautista Agut|bautistaagut|Roberto Bautista Agut
Zizou Bergs|bergs|Zizou Bergs
Marcos Giron|giron|Marcos Giron
Jenson Brooksby|brooksby|Jenson Brooksby
Reilly Opelka|opelka|Reilly Opelka
Kei Nishikori|nishikori|Kei Nishikori
Miomir Kecmanovic|kecmanovic|Miomir Kecmanovic
Laslo Djere|djere|Laslo Djere
Valentin Vacherot|vacherot|Valentin Vacherot
Arthur Rinderknech|rinderknech|Arthur Rinderknech
Corentin Moutet|moutet|Corentin Moutet
Camilo Ugo Carabelli|carabelli|Camilo Ugo Carabelli
Daniel Altmaier|altmaier|Daniel Altmaier
Fabian Marozsan|marozsan|Fabian Marozsan
Alexei Popyrin|popyrin|Alexei Popyrin
Botic van de Zandschulp|vandezandschulp|Botic van de Zandschulp
Hamad Medjedovic|medjedovic|Hamad Medjedovic
Mattia Bellucci|bellucci|Mattia Bellucci
Yunchaokete Bu|bu|Yunchaokete Bu
Aleksandar Vukic|vukic|Aleksandar Vukic
Roman Safiullin|safiullin|Roman Safiullin
Jaume Munar|munar|Jaume Munar
Luciano Darderi|darderi|Luciano Darderi
Mariano Navone|navone|Mariano Navone
Pedro Martinez|martinez|Pedro Martinez
Raphael Collignon|collignon|Raphael Collignon"""

_WTA = """Aryna Sabalenka|sabalenka|Aryna Sabalenka
Iga Swiatek|swiatek|Iga Swiatek
Coco Gauff|gauff|Coco Gauff
Jessica Pegula|pegula|Jessica Pegula
Elena Rybakina|rybakina|Elena Rybakina
Madison Keys|keys|Madison Keys
Jasmine Paolini|paolini|Jasmine Paolini
Mirra Andreeva|andreeva|Mirra Andreeva
Qinwen Zheng|zheng|Qinwen Zheng
Amanda Anisimova|anisimova|Amanda Anisimova
Emma Navarro|navarro|Emma Navarro
Paula Badosa|badosa|Paula Badosa
Daria Kasatkina|kasatkina|Daria Kasatkina
Elina Svitolina|svitolina|Elina Svitolina
Karolina Muchova|muchova|Karolina Muchova
Belinda Bencic|bencic|Belinda Bencic
Ekaterina Alexandrova|alexandrova|Ekaterina Alexandrova
Liudmila Samsonova|samsonova|Liudmila Samsonova
Clara Tauson|tauson|Clara Tauson
Diana Shnaider|shnaider|Diana Shnaider
Leylah Fernandez|fernandez|Leylah Fernandez
Marta Kostyuk|kostyuk|Marta Kostyuk
Linda Noskova|noskova|Linda Noskova
Victoria Mboko|mboko|Victoria Mboko
Yulia Starodubtseva|starodubtseva|Yulia Starodubtseva
Alina Charaeva|charaeva|Alina Charaeva
Hiroko Kuwata|kuwata|Hiroko Kuwata
Wushuang Zheng|wzheng|Wushuang Zheng
Naomi Osaka|osaka|Naomi Osaka
Emma Raducanu|raducanu|Emma Raducanu"""

_UFC = """Islam Makhachev|makhachev|Islam Makhachev
Ilia Topuria|topuria|Ilia Topuria
Alex Pereira|pereira|Alex Pereira
Magomed Ankalaev|ankalaev|Magomed Ankalaev
Tom Aspinall|aspinall|Tom Aspinall
Ciryl Gane|gane|Ciryl Gane
Merab Dvalishvili|dvalishvili|Merab Dvalishvili
Sean O'Malley|omalley|Sean O'Malley
Alexandre Pantoja|pantoja|Alexandre Pantoja
Kai Kara-France|karafrance|Kai Kara-France
Belal Muhammad|muhammad|Belal Muhammad
Jack Della Maddalena|dellamaddalena|Jack Della Maddalena
Dricus du Plessis|duplessis|Dricus du Plessis
Khamzat Chimaev|chimaev|Khamzat Chimaev
Arman Tsarukyan|tsarukyan|Arman Tsarukyan
Charles Oliveira|oliveira|Charles Oliveira
Justin Gaethje|gaethje|Justin Gaethje
Dustin Poirier|poirier|Dustin Poirier
Max Holloway|holloway|Max Holloway
Alexander Volkanovski|volkanovski|Alexander Volkanovski
Diego Lopes|lopes|Diego Lopes
Movsar Evloev|evloev|Movsar Evloev
Umar Nurmagomedov|nurmagomedov|Umar Nurmagomedov
Petr Yan|yan|Petr Yan"""

TEAM_LINES: dict[str, str] = {
    "nba": _NBA,
    "nfl": _NFL,
    "nhl": _NHL,
    "mlb": _MLB,
    "cbb": _CBB,
    "cfb": _CFB,
    "epl": _EPL,
    "lal": _LAL,
    "atp": _ATP,
    "wta": _WTA,
    "ufc": _UFC,
}


def team_rows(league: str) -> list[tuple[str, str, str]]:
    """Return ``(display name, abbreviation, socket name)`` rows for a league."""
    rows = []
    for line in TEAM_LINES[league].splitlines():
        name, abbr, socket_name = line.split("|")
        rows.append((name, abbr, socket_name))
    return rows
