import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';

/** Every label of the console, in English; Korean must have the same keys (the compiler checks). */
const en = {
  appName: 'Nunchi console',
  skipToContent: 'Skip to content',
  navigation: 'Main',
  navOverview: 'Overview',
  navCampaigns: 'Campaigns',
  navCustomers: 'Customers',
  navDlq: 'Rejected input (DLQ)',
  navNew: 'New campaign',
  language: 'Language',
  shortcuts: 'Keys: 1 overview · 2 campaigns · 3 customers · 4 DLQ · 5 new campaign',
  notAvailable: 'not available yet',
  loading: 'Loading…',
  error: 'Error',
  live: 'live',
  reconnecting: 'reconnecting…',
  // overview
  overviewTitle: 'Overview',
  eventsPerSecond: 'Events/s',
  eventsPerSecondByChannel: 'Events per second by channel',
  averagedOver: 'averaged over the last {n} s',
  channel: 'Channel',
  eventsTotal: 'Events counted',
  eventToOffer: 'Event → offer',
  p50: 'p50',
  p99: 'p99',
  lastMinuteOffers: 'over the last minute (offers: {n}), from the decision service’s histogram',
  noOffersLastMinute: 'no offer in the last minute',
  offers: 'Offers',
  control: 'Control group',
  late: 'Late decisions',
  dlqEntries: 'DLQ entries',
  byStage: 'by stage',
  eventsChart: 'Events per second, last 10 minutes',
  time: 'Time',
  // campaigns
  campaignsTitle: 'Campaigns',
  campaign: 'Campaign',
  status: 'Status',
  version: 'Version',
  draft: 'Draft',
  alternatives: 'Offers (alternatives)',
  budget: 'Budget burn',
  lift: 'Lift',
  liftInterval: '{level} % interval',
  decisions: 'Decisions',
  noCampaigns: 'No campaigns yet.',
  noLimit: 'no limit',
  edit: 'Edit',
  revision: 'revision {n}',
  // campaign page
  timeSeries: 'Decisions, last 10 minutes (since this service started sampling)',
  timeSeriesDays: 'Decisions by day',
  offersByAlternative: 'Offers by alternative',
  alternative: 'Alternative',
  title: 'Title',
  value: 'Value',
  funnel: 'Funnel',
  funnelSteps: 'triggered → audience → condition → caps → offered',
  liftChart: 'Lift against the control group',
  treatment: 'Treatment',
  holdout: 'Holdout',
  customers: 'Customers',
  converted: 'Converted',
  conversionRate: 'Conversion rate',
  responses: 'Responses',
  accepted: 'accepted',
  redeemed: 'redeemed',
  dismissed: 'dismissed',
  valueSent: 'Offer value sent',
  relativeLift: 'relative lift',
  zeroLine: 'no effect',
  liftNoInterval: 'point estimate only: its confidence interval is not available yet',
  liftNotYet: 'no lift yet: the holdout group has no conversion',
  liftConversion: 'Conversion rate',
  liftRevenue: 'Revenue per customer (winsorised)',
  liftAlwaysValid: 'Intervals are always-valid: look as often as you like (docs/analytics.md).',
  sampleRatio: 'Holdout split',
  sampleRatioOk: 'holdout {observed} of {expected} expected (p = {p})',
  sampleRatioMismatch:
    'MISMATCH: holdout {observed} where {expected} is expected (p = {p}); do not trust the lift',
  warnings: 'Warnings',
  revenue: 'Revenue after the offer',
  conversions: 'Conversions',
  figures: 'Figures',
  // customers
  customersTitle: 'Customers',
  customerId: 'Customer id',
  open: 'Open',
  profile: 'Profile',
  noProfile: 'No profile imported: what is known comes from events alone.',
  context: 'Context',
  recentEvents: 'Recent events',
  recentDecisions: 'Recent decisions',
  outcome: 'Outcome',
  why: 'Why, and why not',
  trace: 'Trace',
  openTrace: 'open trace',
  noDecisions: 'No decisions for this customer in the last 30 days.',
  customerNotFound: 'No such customer.',
  // dlq
  dlqTitle: 'Rejected input (DLQ)',
  stage: 'Stage',
  allStages: 'all stages',
  seq: '#',
  subject: 'Where it came in',
  reason: 'Reason',
  at: 'When',
  bytes: 'Bytes',
  noEntries: 'Nothing rejected.',
  replayOf: 'replay of #{n}',
  // editor
  editorTitle: 'Campaign editor',
  newCampaign: 'New campaign',
  source: 'Campaign (YAML)',
  save: 'Save draft',
  validate: 'Validate',
  test: 'Test',
  simulate: 'Simulate',
  activate: 'Activate',
  discard: 'Discard draft',
  saved: 'Draft saved (revision {n}).',
  valid: 'Valid: it can be activated.',
  problems: 'Problems',
  problemAt: 'line {line}, column {column}',
  testEvent: 'Event (JSON, as an adapter sends it)',
  testCustomer: 'Customer id',
  from: 'From',
  to: 'To',
  simulationRunning: 'Simulating: {phase} {done}/{total}',
  simulationDone: 'Simulation done',
  activated: 'Activated: version {n}, {status}.',
  editorHelp: 'Escape, then Tab, leaves the editor. Each problem is a button that moves the cursor to it.',
  // login
  loginTitle: 'Log in',
  loginCredential: 'API key or token',
  loginHelp:
    'Paste an API key (nunchi keys create --role …; npm start and the demo leave a local admin key in .nunchi/admin.key) or a token from your sign-in provider.',
  loginSubmit: 'Log in',
  signedInAs: 'Signed in as {name} ({roles})',
  logout: 'Log out',
} as const;

export type MessageKey = keyof typeof en;

const ko: Record<MessageKey, string> = {
  appName: '눈치 콘솔',
  skipToContent: '본문으로 건너뛰기',
  navigation: '주 메뉴',
  navOverview: '개요',
  navCampaigns: '캠페인',
  navCustomers: '고객',
  navDlq: '거부된 입력 (DLQ)',
  navNew: '새 캠페인',
  language: '언어',
  shortcuts: '단축키: 1 개요 · 2 캠페인 · 3 고객 · 4 DLQ · 5 새 캠페인',
  notAvailable: '아직 제공되지 않음',
  loading: '불러오는 중…',
  error: '오류',
  live: '실시간',
  reconnecting: '다시 연결하는 중…',
  overviewTitle: '개요',
  eventsPerSecond: '초당 이벤트',
  eventsPerSecondByChannel: '채널별 초당 이벤트',
  averagedOver: '최근 {n}초 평균',
  channel: '채널',
  eventsTotal: '집계된 이벤트',
  eventToOffer: '이벤트 → 오퍼',
  p50: 'p50',
  p99: 'p99',
  lastMinuteOffers: '최근 1분 (오퍼 {n}건), 결정 서비스의 히스토그램 기준',
  noOffersLastMinute: '최근 1분간 오퍼 없음',
  offers: '오퍼',
  control: '대조군',
  late: '지연된 결정',
  dlqEntries: 'DLQ 항목',
  byStage: '단계별',
  eventsChart: '초당 이벤트, 최근 10분',
  time: '시각',
  campaignsTitle: '캠페인',
  campaign: '캠페인',
  status: '상태',
  version: '버전',
  draft: '초안',
  alternatives: '오퍼 (대안)',
  budget: '예산 소진',
  lift: '리프트',
  liftInterval: '{level}% 구간',
  decisions: '결정',
  noCampaigns: '아직 캠페인이 없습니다.',
  noLimit: '한도 없음',
  edit: '편집',
  revision: '리비전 {n}',
  timeSeries: '결정, 최근 10분 (서비스가 샘플링을 시작한 뒤)',
  timeSeriesDays: '일별 결정',
  offersByAlternative: '대안별 오퍼',
  alternative: '대안',
  title: '제목',
  value: '가치',
  funnel: '퍼널',
  funnelSteps: '트리거 → 대상 → 조건 → 한도 → 오퍼',
  liftChart: '대조군 대비 리프트',
  treatment: '실험군',
  holdout: '대조군',
  customers: '고객',
  converted: '전환',
  conversionRate: '전환율',
  responses: '응답',
  accepted: '수락',
  redeemed: '사용',
  dismissed: '거절',
  valueSent: '보낸 오퍼 가치',
  relativeLift: '상대 리프트',
  zeroLine: '효과 없음',
  liftNoInterval: '점추정치만 있음: 신뢰구간은 아직 제공되지 않음',
  liftNotYet: '아직 리프트 없음: 대조군에 전환이 없음',
  liftConversion: '전환율',
  liftRevenue: '고객당 매출 (윈저화)',
  liftAlwaysValid:
    '구간은 언제 보아도 유효합니다(always-valid): 원하는 만큼 자주 확인하세요 (docs/analytics.md).',
  sampleRatio: '대조군 비율',
  sampleRatioOk: '대조군 {observed} (기대 {expected}, p = {p})',
  sampleRatioMismatch: '불일치: 대조군 {observed}, 기대 {expected} (p = {p}); 리프트를 신뢰하지 마세요',
  warnings: '경고',
  revenue: '오퍼 후 매출',
  conversions: '전환',
  figures: '수치',
  customersTitle: '고객',
  customerId: '고객 ID',
  open: '열기',
  profile: '프로필',
  noProfile: '가져온 프로필 없음: 이벤트로만 알려진 고객입니다.',
  context: '컨텍스트',
  recentEvents: '최근 이벤트',
  recentDecisions: '최근 결정',
  outcome: '결과',
  why: '이유 (선택된 이유와 아닌 이유)',
  trace: '트레이스',
  openTrace: '트레이스 열기',
  noDecisions: '최근 30일간 이 고객에 대한 결정이 없습니다.',
  customerNotFound: '그런 고객이 없습니다.',
  dlqTitle: '거부된 입력 (DLQ)',
  stage: '단계',
  allStages: '모든 단계',
  seq: '#',
  subject: '들어온 곳',
  reason: '이유',
  at: '시각',
  bytes: '바이트',
  noEntries: '거부된 것이 없습니다.',
  replayOf: '#{n}의 재처리',
  editorTitle: '캠페인 편집기',
  newCampaign: '새 캠페인',
  source: '캠페인 (YAML)',
  save: '초안 저장',
  validate: '검증',
  test: '테스트',
  simulate: '시뮬레이션',
  activate: '활성화',
  discard: '초안 버리기',
  saved: '초안 저장됨 (리비전 {n}).',
  valid: '유효함: 활성화할 수 있습니다.',
  problems: '문제',
  problemAt: '{line}행 {column}열',
  testEvent: '이벤트 (어댑터가 보내는 JSON)',
  testCustomer: '고객 ID',
  from: '시작',
  to: '끝',
  simulationRunning: '시뮬레이션 중: {phase} {done}/{total}',
  simulationDone: '시뮬레이션 완료',
  activated: '활성화됨: 버전 {n}, {status}.',
  editorHelp: 'Escape 다음 Tab으로 편집기를 벗어납니다. 각 문제는 커서를 그 위치로 옮기는 버튼입니다.',
  loginTitle: '로그인',
  loginCredential: 'API 키 또는 토큰',
  loginHelp:
    'API 키(nunchi keys create --role …; npm start와 데모는 .nunchi/admin.key에 로컬 관리자 키를 남깁니다) 또는 로그인 제공자의 토큰을 붙여 넣으세요.',
  loginSubmit: '로그인',
  signedInAs: '{name} ({roles}) 로그인됨',
  logout: '로그아웃',
};

export type Language = 'en' | 'ko';
const dictionaries: Record<Language, Record<MessageKey, string>> = { en, ko };

export type Translate = (key: MessageKey, values?: Record<string, string | number>) => string;

interface I18n {
  language: Language;
  setLanguage(language: Language): void;
  t: Translate;
  /** numbers and dates in the language's conventions */
  locale: string;
}

const I18nContext = createContext<I18n | undefined>(undefined);
const STORAGE_KEY = 'nunchi.console.language';

function initialLanguage(): Language {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored === 'en' || stored === 'ko') return stored;
  return navigator.language.toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [language, setLanguage] = useState<Language>(initialLanguage);
  useEffect(() => {
    document.documentElement.lang = language;
    localStorage.setItem(STORAGE_KEY, language);
  }, [language]);
  const t: Translate = (key, values) =>
    dictionaries[language][key].replace(/\{(\w+)\}/g, (_, name: string) =>
      String(values?.[name] ?? `{${name}}`),
    );
  return (
    <I18nContext.Provider value={{ language, setLanguage, t, locale: language === 'ko' ? 'ko-KR' : 'en-GB' }}>
      {children}
    </I18nContext.Provider>
  );
}

export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error('useI18n outside I18nProvider');
  return value;
}
