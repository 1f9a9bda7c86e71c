// The simulated oven's address space (namespace urn:tagwire:simulator:oven, index 2): process values
// that move, writable setpoints, one node per built-in type, and optional generated load points.
import type { OPCUAServer, UAVariable, Namespace, UAObject } from 'node-opcua';
import type { OpcuaSimulatorConfig } from '../config.js';

type Opcua = typeof import('node-opcua');
type OvenState = 'idle' | 'heating' | 'holding' | 'cooling';

export interface OvenModel {
  stop(): void;
  /** Rounds of load point updates made so far (each changes every load point once). */
  loadRounds(): number;
}

/** Builds the nodes and starts their motion. */
export function buildOvenAddressSpace(
  opcua: Opcua,
  server: OPCUAServer,
  config: OpcuaSimulatorConfig,
): OvenModel {
  const { DataType, Variant, VariantArrayType, StatusCodes, StatusCode, LocalizedText } = opcua;
  const addressSpace = server.engine.addressSpace;
  if (!addressSpace) throw new Error('OPC UA simulator: the server has no address space');
  const ns: Namespace = addressSpace.registerNamespace('urn:tagwire:simulator:oven');
  const objects = addressSpace.rootFolder.objects;
  const readWrite = opcua.makeAccessLevelFlag('CurrentRead | CurrentWrite');
  const readOnly = opcua.makeAccessLevelFlag('CurrentRead');

  const oven: UAObject = ns.addObject({ organizedBy: objects, browseName: 'Oven', nodeId: 's=Oven' });
  const scalar = (
    parent: UAObject,
    id: string,
    dataType: keyof typeof DataType,
    value: unknown,
    writable: boolean,
    arrayType?: 'Array',
    minimumSamplingInterval = 10,
  ): UAVariable =>
    ns.addVariable({
      componentOf: parent,
      browseName: id.split('.').pop() ?? id,
      nodeId: `s=${id}`,
      dataType,
      valueRank: arrayType ? 1 : -1,
      accessLevel: writable ? readWrite : readOnly,
      userAccessLevel: writable ? readWrite : readOnly,
      minimumSamplingInterval,
      value: new Variant({
        dataType: DataType[dataType],
        arrayType: arrayType ? VariantArrayType.Array : VariantArrayType.Scalar,
        value,
      }),
    });

  // Process values. The temperature is an AnalogItem with an EURange so percent deadbands work.
  // An oven AnalogItem in °C, its EURange 0..high.
  const analog = (id: string, high: number, value: number, writable: boolean): UAVariable =>
    ns.addAnalogDataItem({
      componentOf: oven,
      browseName: id.split('.').pop() ?? id,
      nodeId: `s=${id}`,
      dataType: 'Double',
      accessLevel: writable ? readWrite : readOnly,
      userAccessLevel: writable ? readWrite : readOnly,
      minimumSamplingInterval: 10,
      engineeringUnitsRange: { low: 0, high },
      engineeringUnits: opcua.standardUnits.degree_celsius,
      value: new Variant({ dataType: DataType.Double, value }),
    });
  const temperature = analog('Oven.Temperature', 400, 20, false);
  const setpoint = analog('Oven.Setpoint', 300, 180, true);
  const zones = scalar(
    oven,
    'Oven.ZoneTemperatures',
    'Double',
    new Float64Array([20, 20, 20]),
    false,
    'Array',
  );
  const state = scalar(oven, 'Oven.State', 'String', 'idle', false);
  const running = scalar(oven, 'Oven.Running', 'Boolean', true, true);
  scalar(oven, 'Oven.FanSpeed', 'Float', 50, true);
  const doorOpen = scalar(oven, 'Oven.DoorOpen', 'Boolean', false, false);
  const batchCount = scalar(oven, 'Oven.BatchCount', 'UInt32', 0, false);
  const energy = scalar(oven, 'Oven.EnergyWh', 'UInt64', opcua.coerceUInt64(0), false);
  scalar(oven, 'Oven.RecipeName', 'String', 'bread-220', true);
  // A setpoint the server itself protects: every write is refused as a per-user access failure.
  ns.addVariable({
    componentOf: oven,
    browseName: 'ServiceSetpoint',
    nodeId: 's=Oven.ServiceSetpoint',
    dataType: 'Double',
    accessLevel: readWrite,
    userAccessLevel: readWrite,
    value: {
      get: () => new Variant({ dataType: DataType.Double, value: 42 }),
      set: () => StatusCodes.BadUserAccessDenied,
    },
  });

  // One node per built-in type, all writable, plus arrays, a read-only node and a structure.
  const types = ns.addObject({ organizedBy: objects, browseName: 'Types', nodeId: 's=Types' });
  scalar(types, 'Types.Boolean', 'Boolean', true, true);
  scalar(types, 'Types.SByte', 'SByte', -100, true);
  scalar(types, 'Types.Byte', 'Byte', 200, true);
  scalar(types, 'Types.Int16', 'Int16', -30000, true);
  scalar(types, 'Types.UInt16', 'UInt16', 60000, true);
  scalar(types, 'Types.Int32', 'Int32', -2000000000, true);
  scalar(types, 'Types.UInt32', 'UInt32', 4000000000, true);
  scalar(types, 'Types.Int64', 'Int64', opcua.coerceInt64('-9007199254740993'), true);
  scalar(types, 'Types.UInt64', 'UInt64', opcua.coerceUInt64('18446744073709551615'), true);
  scalar(types, 'Types.Float', 'Float', 21.5, true);
  scalar(types, 'Types.Double', 'Double', 3.141592653589793, true);
  scalar(types, 'Types.String', 'String', 'hello oven', true);
  scalar(types, 'Types.DateTime', 'DateTime', new Date('2026-01-02T03:04:05.678Z'), true);
  scalar(types, 'Types.ByteString', 'ByteString', Buffer.from([0xde, 0xad, 0xbe, 0xef]), true);
  scalar(
    types,
    'Types.LocalizedText',
    'LocalizedText',
    new LocalizedText({ text: 'Ofen', locale: 'de' }),
    true,
  );
  scalar(types, 'Types.Guid', 'Guid', '72962B91-FA75-4AE6-8D28-B404DC7DAF63', true);
  scalar(types, 'Types.Int32Array', 'Int32', new Int32Array([1, -2, 3]), true, 'Array');
  scalar(types, 'Types.DoubleArray', 'Double', new Float64Array([1.5, 2.5]), true, 'Array');
  scalar(types, 'Types.StringArray', 'String', ['a', 'b'], true, 'Array');
  scalar(types, 'Types.ReadOnlyInt32', 'Int32', 7, false);
  ns.addVariable({
    componentOf: types,
    browseName: 'Range',
    nodeId: 's=Types.Range',
    dataType: 'Range',
    accessLevel: readOnly,
    userAccessLevel: readOnly,
    value: new Variant({
      dataType: DataType.ExtensionObject,
      value: addressSpace.constructExtensionObject(opcua.coerceNodeId('i=884'), { low: 0, high: 400 }),
    }),
  });

  // Generated load points for benchmarks: every one changes on every tick.
  const load: UAVariable[] = [];
  if (config.loadPoints.count > 0) {
    const folder = ns.addObject({ organizedBy: objects, browseName: 'Load', nodeId: 's=Load' });
    for (let i = 0; i < config.loadPoints.count; i++) {
      // Minimum sampling interval 0: items asking for 0 are fed on change, without a sampling timer each.
      load.push(scalar(folder, `Load.${i}`, 'Double', 0, false, undefined, 0));
    }
  }

  // The oven's motion: heats toward the setpoint when running, cools toward ambient otherwise.
  let temp = 20;
  let ovenState: OvenState = 'idle';
  let batches = 0;
  let energyWh = 0n;
  let tick = 0;
  const set = (v: UAVariable, dataType: number, value: unknown, arrayType = VariantArrayType.Scalar) =>
    v.setValueFromSource(
      new Variant({ dataType, value, arrayType }),
      StatusCode.makeStatusCode(StatusCodes.Good),
    );
  const ovenTimer = setInterval(() => {
    tick++;
    const target = running.readValue().value.value === true ? Number(setpoint.readValue().value.value) : 20;
    const step = (target - temp) * 0.1 + Math.sin(tick / 3) * 0.2;
    temp += step;
    const next: OvenState =
      target > 20 && Math.abs(target - temp) < 2
        ? 'holding'
        : target > temp
          ? 'heating'
          : temp > 25
            ? 'cooling'
            : 'idle';
    if (ovenState === 'heating' && next === 'holding') batches++;
    ovenState = next;
    energyWh += BigInt(Math.max(0, Math.round(step * 10)));
    set(temperature, DataType.Double, Math.round(temp * 100) / 100);
    set(
      zones,
      DataType.Double,
      new Float64Array([temp - 1, temp, temp + 1].map((t) => Math.round(t * 10) / 10)),
      VariantArrayType.Array,
    );
    set(state, DataType.String, ovenState);
    set(batchCount, DataType.UInt32, batches);
    set(energy, DataType.UInt64, opcua.coerceUInt64(energyWh.toString()));
    set(doorOpen, DataType.Boolean, tick % 40 < 2);
  }, config.updateMs);

  let loadTick = 0;
  const loadTimer =
    load.length > 0
      ? setInterval(() => {
          loadTick++;
          const good = StatusCode.makeStatusCode(StatusCodes.Good);
          for (let i = 0; i < load.length; i++) {
            load[i]!.setValueFromSource(
              new Variant({ dataType: DataType.Double, value: loadTick + i / 1000 }),
              good,
            );
          }
        }, config.loadPoints.intervalMs)
      : undefined;

  return {
    stop() {
      clearInterval(ovenTimer);
      if (loadTimer) clearInterval(loadTimer);
    },
    loadRounds: () => loadTick,
  };
}
