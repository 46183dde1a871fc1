import { enums } from './proto';
import type { AttributeType } from './visibility';

const IVT = enums.IndexedValueType;

export const ATTRIBUTE_TYPES: Record<number, AttributeType> = {
  [IVT.INDEXED_VALUE_TYPE_TEXT]: 'Text',
  [IVT.INDEXED_VALUE_TYPE_KEYWORD]: 'Keyword',
  [IVT.INDEXED_VALUE_TYPE_INT]: 'Int',
  [IVT.INDEXED_VALUE_TYPE_DOUBLE]: 'Double',
  [IVT.INDEXED_VALUE_TYPE_BOOL]: 'Bool',
  [IVT.INDEXED_VALUE_TYPE_DATETIME]: 'Datetime',
  [IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST]: 'KeywordList',
};

/** System search attributes every execution has; the values come from the execution itself. */
export const SYSTEM_ATTRIBUTES: Record<string, number> = {
  WorkflowType: IVT.INDEXED_VALUE_TYPE_KEYWORD,
  WorkflowId: IVT.INDEXED_VALUE_TYPE_KEYWORD,
  RunId: IVT.INDEXED_VALUE_TYPE_KEYWORD,
  ExecutionStatus: IVT.INDEXED_VALUE_TYPE_KEYWORD,
  TaskQueue: IVT.INDEXED_VALUE_TYPE_KEYWORD,
  StartTime: IVT.INDEXED_VALUE_TYPE_DATETIME,
  CloseTime: IVT.INDEXED_VALUE_TYPE_DATETIME,
  ExecutionTime: IVT.INDEXED_VALUE_TYPE_DATETIME,
  HistoryLength: IVT.INDEXED_VALUE_TYPE_INT,
  // Written by SDKs and by schedules; predefined on every real server.
  TemporalChangeVersion: IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  BuildIds: IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  TemporalScheduledById: IVT.INDEXED_VALUE_TYPE_KEYWORD,
  TemporalScheduledStartTime: IVT.INDEXED_VALUE_TYPE_DATETIME,
};

export class Namespace {
  // None predefined: the Temporal CLI's dev server (v1.5.1) predefines none either; they come from
  // `--search-attribute` or OperatorService.AddSearchAttributes.
  readonly customAttributes = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly id: string,
    readonly description = '',
    readonly retentionMs = 24 * 3600 * 1000,
  ) {}

  attributeType(name: string): number | undefined {
    return SYSTEM_ATTRIBUTES[name] ?? this.customAttributes.get(name);
  }
}
