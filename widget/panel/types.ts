/** What the panel API answers (the edge's shapes, as the panel reads them). */
export type { ReaderSummary, Variation } from '#shared/panel.ts';
import type { ReaderSummary, SegmentRule } from '#shared/panel.ts';

export interface Segment {
  id: string; name: string; description: string; rule: SegmentRule | null; ruleText: string; count: number;
  manualAdds: number; manualRemoves: number; cioSegmentId: number | null; mirrored: number; pending: number;
  syncError: string | null; syncedAt: number | null; createdAt: number;
}
export interface CioSegment { id: number; name: string; type: string; count: number | null; ours: boolean }
export interface Broadcast { id: number; name: string; active: boolean }
export interface Send {
  key: string; broadcastId: number; mode: 'broadcast' | 'journey'; segmentName: string; recipients: number;
  status: 'queued' | 'retrying' | 'sent' | 'failed'; attempts: number; triggerId: number | null; error: string | null;
  nextAttemptAt: number | null; abTest: string | null; createdAt: number; sentAt: number | null;
  variation: { id: string; subject: string; segmentId: string };
}
export interface ArmResult { arm: number; recipients: number; humanOpens: number; clicks: number }
export interface AbTest {
  id: string; name: string; segmentId: string; broadcastId: number; mode: string; testShare: number;
  arms: Array<{ id: string; subject: string }>; status: 'testing' | 'decided'; winner: number | null; rule: string;
  results: ArmResult[]; rest: number | null; sends: Send[]; createdAt: number;
}
export interface Overview {
  workspace: string; readers: number; averageScore: number; segments: number; tagCounts: Record<string, number>;
  activeByDay: Array<{ day: number; readers: number }>; tagHistory: { days: number[]; tags: Record<string, number[]> };
  tagRules: Array<{ tag: string; description: string }>; customerioConfigured: boolean;
}
export type { ReaderSummary as Reader };
export type Members = { segment: Segment; members: ReaderSummary[] };
